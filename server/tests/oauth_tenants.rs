//! OAuth at scale and across processes: 50 workspaces behind OAuth bearers with no cross-tenant leak,
//! two servers sharing one store, grants surviving a restart of a file store, the grants CLI, API keys
//! through the real authentication layer, and no secret in trace-level logs.
#![allow(clippy::unwrap_used)]

mod common;
mod oauth_support;

use futures::StreamExt;
use notion_fake::{FakeNotion, Fixture};
use notion_mcp_remote::config::{GrantFilter, GrantsAction, GrantsArgs, StoreArgs, StoreKind};
use notion_mcp_remote::store::Store;
use notion_mcp_remote::store::records::Grant;
use oauth_support::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

const WORKSPACES: usize = 50;
const CALLS: usize = 2000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_workspaces_two_thousand_calls_through_oauth_zero_leaks() {
    let mut b = Fixture::builder();
    for i in 0..WORKSPACES {
        b = b
            .workspace(&format!("WS{i}"), &format!("ntn_ws{i}_token"))
            .pages(2, &format!("Secret{i}x"));
    }
    let fake = FakeNotion::start(b.build()).await.unwrap();
    let s = start_on(fake, Store::in_memory(), |a| {
        a.sessions = true;
        a.oauth.registrations_per_minute = 1000;
    })
    .await;
    // One OAuth login per workspace, each by its own client.
    let mut bearers = Vec::new();
    for i in 0..WORKSPACES {
        let (_, access, _) = s.connect(Some(&format!("WS{i}"))).await;
        bearers.push(access);
    }
    assert_eq!(s.store.list::<Grant>().await.unwrap().len(), WORKSPACES);
    let leaks = AtomicUsize::new(0);
    let checked = AtomicUsize::new(0);
    futures::stream::iter(0..CALLS)
        .for_each_concurrent(32, |n| {
            let (s, bearers, leaks, checked) = (&s, &bearers, &leaks, &checked);
            async move {
                let ws = (n * 7) % WORKSPACES;
                let t =
                    s.h.text(&bearers[ws], "search", json!({"query": "Secret"}))
                        .await;
                let own = t.matches(&format!("Secret{ws}x")).count();
                let foreign = (0..WORKSPACES)
                    .filter(|&j| j != ws)
                    .map(|j| t.matches(&format!("Secret{j}x ")).count())
                    .sum::<usize>();
                if own != 2 || foreign != 0 {
                    leaks.fetch_add(1, Ordering::SeqCst);
                }
                checked.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
    assert_eq!(checked.load(Ordering::SeqCst), CALLS);
    assert_eq!(
        leaks.load(Ordering::SeqCst),
        0,
        "answers from another workspace"
    );
}

#[tokio::test]
async fn two_servers_share_one_store_and_audiences_are_enforced() {
    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let store = Store::in_memory();
    let a = start_on(fake, store.clone(), |_| {}).await;
    let fake_b = FakeNotion::start(Fixture::sample()).await.unwrap();
    let b = start_on(fake_b, store.clone(), |_| {}).await;
    // b has another public URL (its own port), so another resource: a's tokens are not for b.
    let (c, access, refresh) = a.connect(None).await;
    let (status, _) =
        a.h.post(
            Some(&access),
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) =
        b.h.post(
            Some(&access),
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        )
        .await;
    assert_eq!(status, 401, "a token for another audience is refused");
    // A refresh at b for a's grant (b's resource) is refused; at a it works.
    let (status, e) = b
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("resource", &b.h.url),
            ],
        )
        .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_target")));
    let (status, _) = a
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn concurrent_refreshes_across_two_servers_rotate_once_plus_honoured_retries() {
    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let store = Store::in_memory();
    let a = start_on(fake, store.clone(), |_| {}).await;
    // b serves the same public URL (two replicas behind one name) from the same store.
    let public = a.base().to_string();
    let fake_b = FakeNotion::start(Fixture::sample()).await.unwrap();
    let b = start_on(fake_b, store.clone(), |args| {
        args.public_url = Some(public.parse().unwrap())
    })
    .await;
    let (c, access, refresh) = a.connect(None).await;
    let (status, _) =
        b.h.post(
            Some(&access),
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        )
        .await;
    assert_eq!(status, 200, "any replica serves any grant");
    let results = futures::future::join_all((0..10).map(|i| {
        let (srv, c, refresh) = (if i % 2 == 0 { &a } else { &b }, c.clone(), refresh.clone());
        async move {
            srv.token(
                &c,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await
        }
    }))
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let honoured = 1 + notion_mcp_remote::oauth::rotation::RETRIES_HONOURED;
    assert_eq!(
        ok, honoured,
        "one rotation and the honoured retries: {results:?}"
    );
    // The losers raced within the grace period: the grant survives.
    let winner = &results.iter().find(|(s, _)| *s == 200).unwrap().1;
    let new_access = winner["access_token"].as_str().unwrap();
    let (status, _) =
        b.h.post(
            Some(new_access),
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn file_store_grants_survive_a_restart_and_the_cli_lists_and_revokes_them() {
    let dir = std::env::temp_dir().join(format!("nmr-oauth-{}", uuid::Uuid::new_v4()));
    let store_args = StoreArgs {
        kind: Some(StoreKind::File),
        store_dir: dir.clone(),
        store_namespace: None,
        instance: "test".into(),
        instance_uid: None,
        keys_dir: None,
        keys: None,
        active_key_id: None,
    };
    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let store = notion_mcp_remote::store::open::open(&store_args)
        .await
        .unwrap();
    let s = start_on(fake, store, |_| {}).await;
    let (_, access, _) = s.connect(None).await;
    let public = s.base().to_string();
    s.h.shutdown().await;
    // Restart on the same directory (the generated key is reused): the token still works.
    let store = notion_mcp_remote::store::open::open(&store_args)
        .await
        .unwrap();
    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let s = start_on(fake, store, |a| {
        a.public_url = Some(public.parse().unwrap())
    })
    .await;
    let (status, _) =
        s.h.post(
            Some(&access),
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        )
        .await;
    assert_eq!(status, 200, "grants survive a restart");
    let grants = s.store.list::<Grant>().await.unwrap();
    assert_eq!(grants.len(), 1);
    let workspace = grants[0].1.notion.workspace_name.clone().unwrap();

    let args = |action| GrantsArgs {
        action,
        store: store_args.clone(),
        notion_base_url: s.h.fake.base_url().parse().unwrap(),
        notion_oauth_client_id: Some(NOTION_CLIENT_ID.into()),
        notion_oauth_client_secret: Some(notion_mcp_remote::config::Redacted(
            NOTION_CLIENT_SECRET.into(),
        )),
    };
    let mut out = Vec::new();
    notion_mcp_remote::admin::run(
        args(GrantsAction::List {
            filter: GrantFilter::default(),
            json: true,
        }),
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&workspace) && !text.contains("ntn_") && !text.contains("nrt_"),
        "{text}"
    );
    let mut out = Vec::new();
    let err = notion_mcp_remote::admin::run(
        args(GrantsAction::Revoke {
            filter: GrantFilter::default(),
            all: false,
            dry_run: false,
        }),
        &mut out,
    )
    .await;
    assert!(err.is_err(), "revoke needs a filter or --all");
    let filter = GrantFilter {
        workspace: Some(workspace),
        ..GrantFilter::default()
    };
    notion_mcp_remote::admin::run(
        args(GrantsAction::Revoke {
            filter,
            all: false,
            dry_run: false,
        }),
        &mut out,
    )
    .await
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("1 grant(s) revoked")
    );
    assert!(s.store.list::<Grant>().await.unwrap().is_empty());

    // A wrong key is a loud start-up error and changes nothing.
    let mut wrong = store_args.clone();
    wrong.keys = Some(notion_mcp_remote::config::Redacted(format!(
        "k1:{}",
        "ab".repeat(32)
    )));
    // (The registered client and the remembered consent are still stored.)
    let err = notion_mcp_remote::store::open::open(&wrong)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("cannot open"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
