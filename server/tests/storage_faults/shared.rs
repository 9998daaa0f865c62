//! Two server processes on one file store: concurrent refreshes of one refresh token sent to both.

use super::*;
use notion_mcp_remote::config::{StoreArgs, StoreKind};
use notion_mcp_remote::oauth::opaque_tokens as tokens;
use notion_mcp_remote::store::records::Grant;

const GRANTS: usize = 6;
const ROUNDS: usize = 8;
/// Concurrent presentations of one refresh token per round, alternating between the processes.
const CONCURRENT: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_file_store_rotate_a_refresh_token_once() {
    let fake = start_fake().await;
    let dir = tempdir::Dir::new("nmr-shared-store");
    let (port_a, mut port_b) = (free_port(), free_port());
    while port_b == port_a {
        port_b = free_port();
    }
    let (args_a, ep_a) = server_args(&fake, port_a, dir.path());
    let (mut args_b, mut ep_b) = server_args(&fake, port_b, dir.path());
    // Two replicas behind one public URL.
    args_b.extend([
        "--public-url".to_string(),
        format!("http://localhost:{port_a}"),
    ]);
    ep_b.resource = ep_a.resource.clone();
    let a = ChildServer::start_on(port_a, &args_a, &[]).await;
    let b = ChildServer::start_on(port_b, &args_b, &[]).await;
    let store = notion_mcp_remote::store::open::open(&StoreArgs {
        kind: Some(StoreKind::File),
        store_dir: dir.path().to_path_buf(),
        store_namespace: None,
        instance: "test".into(),
        instance_uid: None,
        keys_dir: None,
        keys: None,
        active_key_id: None,
    })
    .await
    .unwrap();
    let issued = Issued::default();
    let mut held = Vec::new();
    for _ in 0..GRANTS {
        let c = ep_a.try_connect(None).await.unwrap();
        issued.record(&c.refresh);
        held.push(Held::new(c));
    }
    let (mut presented, mut refused) = (0, 0);
    let mut unchosen: Vec<(TestClient, String)> = Vec::new();
    for round in 0..ROUNDS {
        let rounds = held.iter().map(|h| {
            let (ep_a, ep_b) = (&ep_a, &ep_b);
            async move {
                let answers = futures::future::join_all((0..CONCURRENT).map(|i| {
                    let ep = if i % 2 == 0 { ep_a } else { ep_b };
                    ep.try_refresh(&h.client, &h.refresh)
                }))
                .await;
                answers.into_iter().map(Result::unwrap).collect::<Vec<_>>()
            }
        });
        let answers = futures::future::join_all(rounds).await;
        for (h, answers) in held.iter_mut().zip(answers) {
            presented += answers.len();
            let ok: Vec<&Value> = answers
                .iter()
                .filter(|(s, _)| *s == 200)
                .map(|(_, v)| v)
                .collect();
            for (status, v) in &answers {
                if *status != 200 {
                    assert_eq!((*status, v["error"].as_str()), (400, Some("invalid_grant")));
                    refused += 1;
                }
            }
            // One rotation and the retries the grace honours, no more.
            assert_eq!(ok.len(), 1 + RETRIES_HONOURED, "{answers:?}");
            let family: BTreeSet<String> = ok
                .iter()
                .map(|v| tokens::hash(v["refresh_token"].as_str().unwrap()))
                .collect();
            let g = store.get::<Grant>(&h.grant_id).await.unwrap().unwrap();
            assert_eq!(g.refresh_parent, Some(tokens::hash(&h.refresh)));
            let stored: BTreeSet<String> = g
                .refresh
                .iter()
                .chain(&g.refresh_retries)
                .map(|t| t.hash.clone())
                .collect();
            assert_eq!(
                stored, family,
                "the stored family is exactly what was handed out"
            );
            let pick = rand::random_range(0..ok.len());
            for (i, v) in ok.iter().enumerate() {
                let refresh = v["refresh_token"].as_str().unwrap();
                issued.record(refresh);
                // The last round's alternatives stay live: no rotation follows it.
                if i != pick && round + 1 < ROUNDS {
                    unchosen.push((h.client.clone(), refresh.to_string()));
                }
            }
            let sent = h.refresh.clone();
            h.rotated(sent, ok[pick], &Issued::default());
        }
    }
    // The alternatives not chosen were retired by the next rotation: refused by either process.
    for (i, (client, refresh)) in unchosen.iter().enumerate() {
        let ep = if i % 2 == 0 { &ep_a } else { &ep_b };
        let (status, e) = ep.try_refresh(client, refresh).await.unwrap();
        assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    }
    for h in &held {
        assert_eq!(call_tool(&ep_a, &h.access).await, (200, true));
        assert_eq!(call_tool(&ep_b, &h.access).await, (200, true));
    }
    println!(
        "storage faults, two processes on one file store: {GRANTS} grants x {ROUNDS} rounds, {presented} refreshes presented ({CONCURRENT} at once per token), {} refresh tokens issued (all distinct), {refused} refused",
        issued.len()
    );
    drop((a, b));
}
