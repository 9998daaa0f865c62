//! Referenced Secrets (OAuth client, API keys, webhook token, Redis URL, encryption keys): presence checks that
//! make the resource `Degraded` with an actionable message, the generated key Secret (create once, add keys,
//! never overwrite), and a checksum of their contents that rolls the pods when they change.

use crate::builders::key_secret::{self, KeyPlan, declared_key_ids};
use crate::builders::{digest, generated_key_secret_name};
use crate::crd::NotionMcpRemote;
use crate::status::Problem;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

/// What happened to the generated key Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySecretWrite {
    Created(String),
    KeysAdded(String, Vec<String>),
}

/// Result of checking the referenced Secrets.
#[derive(Clone, Debug, Default)]
pub struct SecretCheck {
    pub problems: Vec<Problem>,
    /// Hash over the contents of every referenced Secret that exists.
    pub checksum: String,
    pub key_secret_write: Option<KeySecretWrite>,
}

fn require_keys(
    secret: Option<&Secret>,
    name: &str,
    namespace: &str,
    keys: &[(&str, &str)],
    problems: &mut Vec<Problem>,
) {
    let Some(secret) = secret else {
        let wanted: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        problems.push(Problem {
            reason: "SecretMissing",
            message: format!(
                "Secret {name} not found in namespace {namespace} (it needs key {})",
                wanted.join(" and ")
            ),
        });
        return;
    };
    for (key, what) in keys {
        let present = secret
            .data
            .as_ref()
            .and_then(|d| d.get(*key))
            .is_some_and(|v| !v.0.is_empty())
            || secret
                .string_data
                .as_ref()
                .is_some_and(|d| d.contains_key(*key));
        if !present {
            problems.push(Problem {
                reason: "SecretKeyMissing",
                message: format!("Secret {name} missing key {key} ({what})"),
            });
        }
    }
}

fn hash_into(secret: &Secret, input: &mut Vec<u8>) {
    input.extend_from_slice(secret.metadata.name.as_deref().unwrap_or("").as_bytes());
    if let Some(data) = &secret.data {
        for (k, v) in data {
            input.extend_from_slice(k.as_bytes());
            input.push(0);
            input.extend_from_slice(&v.0);
            input.push(0);
        }
    }
}

/// Checks the Secrets `cr` references, creating or extending the generated key Secret when it is used.
pub async fn check(
    client: &Client,
    namespace: &str,
    cr: &NotionMcpRemote,
    new_key: fn() -> Vec<u8>,
) -> Result<SecretCheck, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut out = SecretCheck::default();
    let mut hash_input = Vec::new();

    if let Some(oauth) = &cr.spec.notion.oauth_secret_ref {
        let secret = api.get_opt(&oauth.name).await?;
        require_keys(
            secret.as_ref(),
            &oauth.name,
            namespace,
            &[
                (&oauth.client_id_key, "the Notion OAuth client id"),
                (&oauth.client_secret_key, "the Notion OAuth client secret"),
            ],
            &mut out.problems,
        );
        if let Some(secret) = &secret {
            hash_into(secret, &mut hash_input);
        }
    }

    let single_keys = [
        cr.spec
            .auth
            .api_key_secret_ref
            .as_ref()
            .map(|r| (&r.name, &r.key, "the API keys, one per line")),
        cr.spec
            .notion
            .webhook_secret_ref
            .as_ref()
            .map(|r| (&r.name, &r.key, "the Notion webhook verification token")),
        cr.spec
            .shared_state
            .as_ref()
            .map(|s| &s.redis_secret_ref)
            .map(|r| (&r.name, &r.key, "the Redis URL")),
    ];
    for (name, key, what) in single_keys.into_iter().flatten() {
        let secret = api.get_opt(name).await?;
        require_keys(
            secret.as_ref(),
            name,
            namespace,
            &[(key, what)],
            &mut out.problems,
        );
        if let Some(secret) = &secret {
            hash_into(secret, &mut hash_input);
        }
    }

    let key_ids = declared_key_ids(cr);
    if let Some(reference) = &cr.spec.encryption.key_secret_ref {
        let secret = api.get_opt(&reference.name).await?;
        let keys: Vec<(&str, &str)> = key_ids
            .iter()
            .map(|id| (id.as_str(), "an encryption key declared in spec.encryption"))
            .collect();
        require_keys(
            secret.as_ref(),
            &reference.name,
            namespace,
            &keys,
            &mut out.problems,
        );
        if let Some(secret) = &secret {
            hash_into(secret, &mut hash_input);
        }
    } else {
        let name = generated_key_secret_name(cr);
        let existing = api.get_opt(&name).await?;
        let secret = match key_secret::plan(cr, existing.as_ref(), new_key) {
            KeyPlan::Keep => existing,
            KeyPlan::Create(secret) => match api.create(&PostParams::default(), &secret).await {
                Ok(created) => {
                    out.key_secret_write = Some(KeySecretWrite::Created(name));
                    Some(created)
                }
                // Created concurrently: use that one, never overwrite it.
                Err(kube::Error::Api(status)) if status.is_already_exists() => {
                    api.get_opt(&name).await?
                }
                Err(e) => return Err(e),
            },
            KeyPlan::AddKeys(keys) => {
                let ids: Vec<String> = keys.keys().cloned().collect();
                // Merge patch adds only the missing keys; the resourceVersion precondition turns a concurrent
                // change into a conflict (retried by the error policy) instead of a lost write.
                let patch = json!({
                    "metadata": {"resourceVersion": existing.as_ref().and_then(|s| s.metadata.resource_version.clone())},
                    "data": keys,
                });
                let patched = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                out.key_secret_write = Some(KeySecretWrite::KeysAdded(name, ids));
                Some(patched)
            }
        };
        if let Some(secret) = &secret {
            hash_into(secret, &mut hash_input);
        }
    }
    out.checksum = if hash_input.is_empty() {
        String::new()
    } else {
        digest(&hash_input)
    };
    Ok(out)
}
