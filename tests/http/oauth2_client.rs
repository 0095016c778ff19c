//! The server driven by a real OAuth client library, the `oauth2` crate:
//! password, client credentials, refresh and code exchange with PKCE.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse,
    TokenUrl,
};

use crate::both_backends;
use crate::support::{TestApp, TestClient, PASSWORD, REDIRECT_URI};

type Client = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn library_client(app: &TestApp, client: &TestClient) -> Client {
    let mut built = BasicClient::new(ClientId::new(client.id.clone()))
        .set_auth_uri(AuthUrl::new(app.url("/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());
    if !client.secret.is_empty() {
        built = built.set_client_secret(ClientSecret::new(client.secret.clone()));
    }
    built
}

both_backends![
    password_then_refresh_then_api_me,
    client_credentials_through_the_library_give_a_token_without_refresh_token,
    wrong_secret_is_a_library_visible_invalid_client,
    code_exchange_with_pkce
];

async fn password_then_refresh_then_api_me(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let oauth = library_client(&app, &client);

    let tokens = oauth
        .exchange_password(
            &ResourceOwnerUsername::new("alice".to_owned()),
            &ResourceOwnerPassword::new(PASSWORD.to_owned()),
        )
        .add_scope(Scope::new("profile".to_owned()))
        .request_async(&app.http)
        .await
        .unwrap();
    assert_eq!(tokens.scopes().unwrap()[0].as_str(), "profile");
    let refresh = tokens.refresh_token().unwrap().clone();

    let refreshed = oauth
        .exchange_refresh_token(&refresh)
        .request_async(&app.http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret()
    );
    assert_eq!(app.me_status(refreshed.access_token().secret()).await, 200);

    let reused = oauth
        .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
        .request_async(&app.http)
        .await;
    assert!(reused.is_err());
}

async fn client_credentials_through_the_library_give_a_token_without_refresh_token(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let oauth = library_client(&app, &client);

    let tokens = oauth
        .exchange_client_credentials()
        .add_scope(Scope::new("email".to_owned()))
        .request_async(&app.http)
        .await
        .unwrap();

    assert!(tokens.refresh_token().is_none());
    assert_eq!(tokens.expires_in().unwrap().as_secs(), 3600);
    assert_eq!(app.me_status(tokens.access_token().secret()).await, 403);
}

async fn wrong_secret_is_a_library_visible_invalid_client(app: TestApp) {
    let alice = app.user("alice");
    let mut client = app.full_client(&alice);
    client.secret.push('x');
    let oauth = library_client(&app, &client);

    let error = oauth
        .exchange_client_credentials()
        .request_async(&app.http)
        .await
        .unwrap_err();

    match error {
        oauth2::RequestTokenError::ServerResponse(response) => {
            assert_eq!(
                response.error(),
                &oauth2::basic::BasicErrorResponseType::InvalidClient
            );
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

async fn code_exchange_with_pkce(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let oauth = library_client(&app, &client);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state) = oauth
        .authorize_url(oauth2::CsrfToken::new_random)
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    // The consent page is not in play here: approve through the same
    // use case it calls, with the library's own authorization request.
    let params =
        domain::params::Params::parse_form(authorize_url.query().unwrap().as_bytes()).unwrap();
    let request = app.services.validate_authorization(&params).unwrap();
    let response = app
        .services
        .approve_authorization(&request, &alice.id, &Default::default())
        .unwrap();
    let location = crate::support::location_params(&response.location());
    assert_eq!(location["state"], *state.secret());
    assert_eq!(location["iss"], app.address);

    let tokens = oauth
        .exchange_code(AuthorizationCode::new(location["code"].clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&app.http)
        .await
        .unwrap();

    assert_eq!(app.me_status(tokens.access_token().secret()).await, 200);
    assert!(tokens.refresh_token().is_some());
}
