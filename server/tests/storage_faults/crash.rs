//! SIGKILL during a burst of logins and refreshes, restart on the same store directory and port.

use super::*;
use oauth_support::{Browser, pkce, query};
use tokio::task::JoinSet;

const ROUNDS: usize = 6;
const LOGIN_WORKERS: usize = 6;
const LOGINS_PER_WORKER: usize = 8;
const REFRESHES_PER_ROUND: usize = 10;

/// What one burst task ended with.
struct TaskEnd {
    held: Vec<Held>,
    /// A code exchange sent whose answer never arrived.
    lost_exchange: Option<(TestClient, String, String)>,
    /// Whether the kill stopped it (rather than its quota running out).
    interrupted: bool,
}

async fn login_worker(ep: Endpoint, issued: Issued) -> TaskEnd {
    let mut held = Vec::new();
    for _ in 0..LOGINS_PER_WORKER {
        match ep.try_connect(None).await {
            Ok(c) => {
                issued.record(&c.refresh);
                held.push(Held::new(c));
            }
            Err(i) => {
                return TaskEnd {
                    held,
                    lost_exchange: i.exchange_lost,
                    interrupted: true,
                };
            }
        }
    }
    TaskEnd {
        held,
        lost_exchange: None,
        interrupted: false,
    }
}

async fn refresh_worker(ep: Endpoint, mut h: Held, issued: Issued) -> TaskEnd {
    for _ in 0..REFRESHES_PER_ROUND {
        let sent = h.refresh.clone();
        match ep.try_refresh(&h.client, &sent).await {
            Ok((200, answer)) => h.rotated(sent, &answer, &issued),
            Ok((status, answer)) => panic!("refresh of a current token refused: {status} {answer}"),
            Err(_) => {
                h.lost = Some(sent);
                return TaskEnd {
                    held: vec![h],
                    lost_exchange: None,
                    interrupted: true,
                };
            }
        }
    }
    TaskEnd {
        held: vec![h],
        lost_exchange: None,
        interrupted: false,
    }
}

#[derive(Debug, Default)]
struct Totals {
    kills: usize,
    interrupted: usize,
    lost_refreshes: usize,
    lost_exchanges_honoured: usize,
    lost_exchanges_refused: usize,
    retired_checked: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_mid_burst_loses_nothing_a_client_received() {
    let fake = start_fake().await;
    let dir = tempdir::Dir::new("nmr-crash-store");
    let port = free_port();
    let (args, ep) = server_args(&fake, port, dir.path());
    let issued = Issued::default();
    let mut held: Vec<Held> = Vec::new();
    let mut totals = Totals::default();
    let mut server = ChildServer::start_on(port, &args, &[]).await;
    for round in 0..ROUNDS {
        let mut tasks = JoinSet::new();
        for _ in 0..LOGIN_WORKERS {
            tasks.spawn(login_worker(ep.clone(), issued.clone()));
        }
        for h in held.drain(..) {
            tasks.spawn(refresh_worker(ep.clone(), h, issued.clone()));
        }
        let delay = rand::random_range(300..2000);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill9();
        totals.kills += 1;
        let mut lost_exchanges = Vec::new();
        while let Some(end) = tasks.join_next().await {
            let end = end.unwrap();
            held.extend(end.held);
            lost_exchanges.extend(end.lost_exchange);
            totals.interrupted += usize::from(end.interrupted);
        }

        // The store opens (every record verified) and holds every grant a client received.
        server = ChildServer::start_on(port, &args, &[]).await;
        assert!(
            server.log().contains("grant store opened"),
            "{}",
            server.log()
        );
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
        let listed = cli_grants(dir.path());
        for h in &held {
            assert!(listed.contains(&h.grant_id), "grant {} lost", h.grant_id);
        }

        // A refresh whose answer was lost succeeds when retried, whether or not it had landed.
        for h in held.iter_mut() {
            if let Some(sent) = h.lost.take() {
                let (status, answer) = ep.try_refresh(&h.client, &sent).await.unwrap();
                assert_eq!(status, 200, "retry of a lost refresh: {answer}");
                h.rotated(sent, &answer, &issued);
                totals.lost_refreshes += 1;
            }
        }
        // A code exchange whose answer was lost: the code is single-use, so a retry succeeds only
        // if the first attempt never landed; otherwise it is refused and its grant revoked.
        for (client, code, verifier) in lost_exchanges {
            let (status, answer) = ep.try_exchange(&client, &code, &verifier).await.unwrap();
            match status {
                200 => {
                    let c = Connected {
                        client,
                        access: answer["access_token"].as_str().unwrap().into(),
                        refresh: answer["refresh_token"].as_str().unwrap().into(),
                    };
                    issued.record(&c.refresh);
                    held.push(Held::new(c));
                    totals.lost_exchanges_honoured += 1;
                }
                400 => {
                    assert_eq!(answer["error"], "invalid_grant", "{answer}");
                    totals.lost_exchanges_refused += 1;
                }
                _ => panic!("retried code exchange: {status} {answer}"),
            }
        }

        // Every grant works: its access token calls a tool, its latest refresh token refreshes.
        for h in held.iter_mut() {
            assert_eq!(
                call_tool(&ep, &h.access).await,
                (200, true),
                "round {round}"
            );
            let sent = h.refresh.clone();
            let (status, answer) = ep.try_refresh(&h.client, &sent).await.unwrap();
            assert_eq!(status, 200, "latest refresh token after restart: {answer}");
            h.rotated(sent, &answer, &issued);
        }
    }

    // Every refresh token rotated away stays dead after the restarts (the last one retired is the
    // parent of the current, unused pair: presenting it is a lost-answer retry, tested above), and
    // presenting them within the grace does not cost the grant.
    for h in &held {
        let (_, older) = h.retired.split_last().unwrap();
        for old in older {
            let (status, answer) = ep.try_refresh(&h.client, old).await.unwrap();
            assert_eq!(
                (status, answer["error"].as_str()),
                (400, Some("invalid_grant"))
            );
            totals.retired_checked += 1;
        }
        assert_eq!(call_tool(&ep, &h.access).await, (200, true));
    }
    assert!(totals.interrupted > 0, "no kill hit a request in flight");
    println!(
        "storage faults, kill -9: {ROUNDS} rounds, {} kills, {} grants, {} refresh tokens issued (all distinct), {} tasks interrupted, {} lost refreshes retried, lost code exchanges {} honoured / {} refused, {} rotated tokens re-presented",
        totals.kills,
        held.len(),
        issued.len(),
        totals.interrupted,
        totals.lost_refreshes,
        totals.lost_exchanges_honoured,
        totals.lost_exchanges_refused,
        totals.retired_checked
    );
    let (clean, _) = server.stop();
    assert!(clean, "the server did not stop cleanly");
}

/// The retry rule at a crash, step by step: the answers of a refresh and of a code exchange are lost
/// (the requests landed, the process died before the client read them), the server restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_retrying_a_request_lost_in_a_crash() {
    let fake = start_fake().await;
    let dir = tempdir::Dir::new("nmr-retry-store");
    let port = free_port();
    let (args, ep) = server_args(&fake, port, dir.path());
    let server = ChildServer::start_on(port, &args, &[]).await;
    let c = ep.try_connect(None).await.unwrap();
    let (status, lost_answer) = ep.try_refresh(&c.client, &c.refresh).await.unwrap();
    assert_eq!(status, 200);
    let never_seen = lost_answer["refresh_token"].as_str().unwrap().to_string();
    // A login whose code exchange landed but whose answer was lost.
    let c2 = ep.register("none").await;
    let (verifier, challenge) = pkce();
    let back = ep
        .login(
            &mut Browser::new(),
            &ep.authorize_url(&c2, &challenge, "st"),
            None,
        )
        .await;
    let code = query(&back)["code"].clone();
    let (status, lost_tokens) = ep.try_exchange(&c2, &code, &verifier).await.unwrap();
    assert_eq!(status, 200);
    let lost_grant = grant_of(lost_tokens["access_token"].as_str().unwrap());
    server.kill9();
    let server = ChildServer::start_on(port, &args, &[]).await;

    // The refresh retried within the grace gets a new pair; the grant is intact.
    let (status, retried) = ep.try_refresh(&c.client, &c.refresh).await.unwrap();
    assert_eq!(status, 200, "{retried}");
    let access = retried["access_token"].as_str().unwrap();
    let refresh = retried["refresh_token"].as_str().unwrap();
    assert_ne!(refresh, never_seen);
    assert_eq!(call_tool(&ep, access).await, (200, true));
    // Using the new pair retires the lost one; presenting retired tokens is refused, harmlessly.
    let (status, next) = ep.try_refresh(&c.client, refresh).await.unwrap();
    assert_eq!(status, 200);
    for old in [never_seen.as_str(), c.refresh.as_str()] {
        let (status, e) = ep.try_refresh(&c.client, old).await.unwrap();
        assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    }
    let access = next["access_token"].as_str().unwrap();
    assert_eq!(call_tool(&ep, access).await, (200, true));

    // The code exchange retried: a code is single-use, so the retry is refused and the grant it had
    // created is revoked; logging in again works.
    assert!(cli_grants(dir.path()).contains(&lost_grant));
    let (status, e) = ep.try_exchange(&c2, &code, &verifier).await.unwrap();
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    assert!(!cli_grants(dir.path()).contains(&lost_grant));
    let again = ep.try_connect(None).await.unwrap();
    assert_eq!(call_tool(&ep, &again.access).await, (200, true));
    drop(server);
}
