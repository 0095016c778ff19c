//! What a relying party asks of the strength of a sign-in: the voluntary
//! `acr_values` of the authorization request (OpenID Connect Core
//! §3.1.2.1) and the `acr` member of the `claims` parameter's `id_token`
//! object, voluntary or essential (§5.5.1.1). The classes are the two of
//! [`crate::authn`], ordered: a multi-factor sign-in also reaches the
//! password class.

use crate::authn::{acr_of, ACR_MFA, ACR_PASSWORD};

/// The `acr` member of the `claims` parameter's `id_token` object, as the
/// adapter read it from the JSON (Core §5.5.1: `essential`, `value`,
/// `values`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcrClaimRequest {
    /// `essential: true`.
    pub essential: bool,
    /// `value`, then every `values` entry, in order.
    pub values: Vec<String>,
}

/// How strong a sign-in the request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcrDemand {
    /// No `acr` asked for, or only classes this server does not know
    /// (voluntary: ignored, Core §5.5.1).
    None,
    /// At least this class, if the user can reach it (`acr_values`, or a
    /// voluntary `acr` claim): ask for the missing factor when the user
    /// has one, else go on with what the sign-in reached.
    Voluntary(&'static str),
    /// At least this class or no answer but an error (an essential `acr`
    /// claim, Core §5.5.1.1).
    Essential(&'static str),
    /// An essential `acr` claim naming only classes this server never
    /// reaches: the request fails as a failed authentication would
    /// (Core §5.5.1.1), with `access_denied`.
    Unsatisfiable,
}

/// The weakest known class among `values` (a stronger sign-in satisfies a
/// weaker class; the weakest acceptable one is all that must be reached).
fn weakest_known(values: &[String]) -> Option<&'static str> {
    if values.iter().any(|v| v == ACR_PASSWORD) {
        Some(ACR_PASSWORD)
    } else if values.iter().any(|v| v == ACR_MFA) {
        Some(ACR_MFA)
    } else {
        None
    }
}

/// Combines the request's `acr_values` (space-separated, in order of
/// preference) and the `claims` parameter's `acr` into one demand. An
/// essential claim wins over `acr_values`; an essential claim without
/// values asks for no class in particular (any sign-in states an `acr`).
#[must_use]
pub fn acr_demand(acr_values: Option<&str>, claim: Option<&AcrClaimRequest>) -> AcrDemand {
    if let Some(claim) = claim.filter(|c| c.essential && !c.values.is_empty()) {
        return weakest_known(&claim.values).map_or(AcrDemand::Unsatisfiable, AcrDemand::Essential);
    }
    let mut requested: Vec<String> = acr_values
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(claim) = claim {
        requested.extend(claim.values.iter().cloned());
    }
    weakest_known(&requested).map_or(AcrDemand::None, AcrDemand::Voluntary)
}

/// Whether a sign-in with `methods` (`amr` values) reaches `class`.
#[must_use]
pub fn reaches(methods: &[String], class: &str) -> bool {
    class == ACR_PASSWORD || acr_of(methods) == class
}

impl AcrDemand {
    /// The class a sign-in must reach before the request is answered,
    /// when the user can reach it.
    #[must_use]
    pub fn class(self) -> Option<&'static str> {
        match self {
            Self::Voluntary(class) | Self::Essential(class) => Some(class),
            Self::None | Self::Unsatisfiable => None,
        }
    }

    /// Whether a sign-in with `methods` is enough for this demand.
    #[must_use]
    pub fn met_by(self, methods: &[String]) -> bool {
        match self {
            Self::None => true,
            Self::Voluntary(class) | Self::Essential(class) => reaches(methods, class),
            Self::Unsatisfiable => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::{methods_of, passkey_methods};

    fn claim(essential: bool, values: &[&str]) -> AcrClaimRequest {
        AcrClaimRequest {
            essential,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn no_acr_asks_nothing() {
        assert_eq!(acr_demand(None, None), AcrDemand::None);
        assert_eq!(acr_demand(Some(""), None), AcrDemand::None);
        assert!(AcrDemand::None.met_by(&methods_of(&["pwd"])));
    }

    #[test]
    fn acr_values_are_voluntary_and_the_weakest_known_class_counts() {
        assert_eq!(
            acr_demand(Some(ACR_MFA), None),
            AcrDemand::Voluntary(ACR_MFA)
        );
        let both = format!("{ACR_MFA} {ACR_PASSWORD}");
        assert_eq!(
            acr_demand(Some(&both), None),
            AcrDemand::Voluntary(ACR_PASSWORD)
        );
        assert_eq!(acr_demand(Some("urn:other:gold"), None), AcrDemand::None);
    }

    #[test]
    fn an_essential_claim_wins_over_acr_values() {
        let essential = claim(true, &[ACR_MFA]);
        assert_eq!(
            acr_demand(Some(ACR_PASSWORD), Some(&essential)),
            AcrDemand::Essential(ACR_MFA)
        );
    }

    #[test]
    fn an_essential_claim_of_unknown_classes_cannot_be_met() {
        let essential = claim(true, &["urn:other:gold"]);
        let demand = acr_demand(None, Some(&essential));
        assert_eq!(demand, AcrDemand::Unsatisfiable);
        assert!(!demand.met_by(&passkey_methods(false)));
        assert_eq!(demand.class(), None);
    }

    #[test]
    fn a_voluntary_claim_adds_to_acr_values() {
        let voluntary = claim(false, &[ACR_MFA]);
        assert_eq!(
            acr_demand(None, Some(&voluntary)),
            AcrDemand::Voluntary(ACR_MFA)
        );
        assert_eq!(acr_demand(None, Some(&claim(true, &[]))), AcrDemand::None);
    }

    #[test]
    fn the_mfa_class_needs_two_factors_and_mfa_reaches_the_password_class() {
        let password = methods_of(&["pwd"]);
        let with_code = methods_of(&["pwd", "otp"]);
        assert!(!AcrDemand::Essential(ACR_MFA).met_by(&password));
        assert!(AcrDemand::Essential(ACR_MFA).met_by(&with_code));
        assert!(AcrDemand::Essential(ACR_MFA).met_by(&passkey_methods(true)));
        assert!(AcrDemand::Essential(ACR_PASSWORD).met_by(&with_code));
        assert!(AcrDemand::Voluntary(ACR_PASSWORD).met_by(&password));
    }
}
