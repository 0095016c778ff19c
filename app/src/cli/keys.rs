//! `keys …`: the ID token signing keys (rotation and the list).

use serde_json::json;

use adapters::jose::KeySource;
use domain::signing_key::Rotation;
use domain::time::Timestamp;

use super::output::Output;

/// `keys rotate [--now]`: a new key per algorithm, published at once and
/// signing after the lead (`--now`: signing at once).
pub(super) fn rotate(
    source: &KeySource,
    now: Timestamp,
    immediate: bool,
) -> anyhow::Result<Output> {
    let rotation = if immediate {
        Rotation::Immediate
    } else {
        Rotation::Scheduled
    };
    let added = source.rotate(now, rotation)?;
    let rows: Vec<_> = added
        .iter()
        .map(|k| json!({"kid": k.kid, "alg": k.alg.as_str(), "signs_from": k.signs_from.display()}))
        .collect();
    let text = if added.is_empty() {
        "no new key: a next key is already waiting for each algorithm".to_owned()
    } else {
        added
            .iter()
            .map(|k| {
                format!(
                    "new {} key {} signs from {}",
                    k.alg,
                    k.kid,
                    k.signs_from.display()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Output {
        text,
        json: json!({"added": rows}),
    })
}

/// `keys list`: every stored key with its state.
pub(super) fn list(source: &KeySource, now: Timestamp) -> anyhow::Result<Output> {
    let statuses = source.statuses(now)?;
    let rows: Vec<_> = statuses
        .iter()
        .map(|s| {
            json!({
                "kid": s.key.kid,
                "alg": s.key.alg.as_str(),
                "state": s.state.as_str(),
                "created": s.key.created_at.display(),
                "signs_from": s.key.signs_from.display(),
                "retired": s.retires_at.map(Timestamp::display),
                "published_until": s.published_until.map(Timestamp::display),
            })
        })
        .collect();
    let text = statuses
        .iter()
        .map(|s| {
            format!(
                "{}  {:<5}  {:<7}  created {}  signs from {}  retired {}  published until {}",
                s.key.kid,
                s.key.alg.as_str(),
                s.state.as_str(),
                s.key.created_at.display(),
                s.key.signs_from.display(),
                s.retires_at
                    .map_or_else(|| "-".to_owned(), Timestamp::display),
                s.published_until
                    .map_or_else(|| "-".to_owned(), Timestamp::display),
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Output {
        text,
        json: json!({"keys": rows}),
    })
}
