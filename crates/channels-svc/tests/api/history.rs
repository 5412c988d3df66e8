//! `GET /api/channels/{id}/messages`: paging by `after_seq` / `before_seq`
//! and `limit`, with `has_more`.

use crate::helpers::{TestApp, seqs, spawn_app};
use awc::http::StatusCode;
use serde_json::json;

/// A channel holding messages 1..=n: (app, admin token, history path).
async fn channel_with_messages(n: usize) -> (TestApp, String, String) {
    let app = spawn_app().await;
    let (_, admin, id) = app.admin_with_channel().await;
    for i in 1..=n {
        app.send(&admin, &id, &format!("message {i}")).await;
    }
    (app, admin, format!("/api/channels/{id}/messages"))
}

async fn page(app: &TestApp, token: &str, path: &str, query: &str) -> (Vec<i64>, bool) {
    let reply = app.get(&format!("{path}{query}"), Some(token)).await;
    let body = reply.expect(StatusCode::OK);
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "{body}");
    (seqs(body), body["has_more"].as_bool().expect("has_more"))
}

#[actix_web::test]
async fn history_pages_backwards_from_the_newest_and_forwards_from_a_seq() {
    let (app, token, path) = channel_with_messages(7).await;
    let cases: [(&str, Vec<i64>, bool); 11] = [
        ("?limit=3", vec![5, 6, 7], true),
        ("?before_seq=5&limit=3", vec![2, 3, 4], true),
        ("?before_seq=2", vec![1], false),
        ("?before_seq=1", vec![], false),
        ("?before_seq=4&limit=3", vec![1, 2, 3], false),
        ("?after_seq=2&limit=3", vec![3, 4, 5], true),
        ("?after_seq=5", vec![6, 7], false),
        ("?after_seq=4&limit=3", vec![5, 6, 7], false),
        ("?after_seq=7", vec![], false),
        ("?after_seq=0&limit=7", vec![1, 2, 3, 4, 5, 6, 7], false),
        ("", vec![1, 2, 3, 4, 5, 6, 7], false),
    ];
    for (query, expected, has_more) in cases {
        assert_eq!(
            page(&app, &token, &path, query).await,
            (expected, has_more),
            "{query}"
        );
    }
    // Far beyond the end is simply empty; far above it is the newest.
    assert_eq!(
        page(&app, &token, &path, "?after_seq=1000").await,
        (vec![], false)
    );
    assert_eq!(
        page(&app, &token, &path, "?before_seq=1000&limit=2").await,
        (vec![6, 7], true)
    );
}

#[actix_web::test]
async fn the_default_limit_is_50_and_200_is_allowed() {
    let (app, token, path) = channel_with_messages(52).await;
    let (newest, more) = page(&app, &token, &path, "").await;
    assert_eq!(newest, (3..=52).collect::<Vec<i64>>());
    assert!(more);
    let (oldest, more) = page(&app, &token, &path, "?after_seq=0").await;
    assert_eq!(oldest, (1..=50).collect::<Vec<i64>>());
    assert!(more);
    let (all, more) = page(&app, &token, &path, "?limit=200").await;
    assert_eq!(all.len(), 52);
    assert!(!more);
}

#[actix_web::test]
async fn a_new_channel_has_an_empty_history() {
    let (app, token, path) = channel_with_messages(0).await;
    let reply = app.get(&path, Some(&token)).await;
    assert_eq!(
        *reply.expect(StatusCode::OK),
        json!({"messages": [], "has_more": false})
    );
    assert_eq!(
        page(&app, &token, &path, "?after_seq=0").await,
        (vec![], false)
    );
}

#[actix_web::test]
async fn a_limit_outside_1_to_200_or_not_a_number_is_422() {
    let (app, token, path) = channel_with_messages(1).await;
    for query in [
        "?limit=0",
        "?limit=201",
        "?limit=-1",
        "?limit=abc",
        "?limit=",
    ] {
        app.get(&format!("{path}{query}"), Some(&token))
            .await
            .expect_invalid("limit");
    }
    for query in ["?after_seq=abc", "?after_seq=-1", "?after_seq=1.5"] {
        app.get(&format!("{path}{query}"), Some(&token))
            .await
            .expect_invalid("after_seq");
    }
    for query in ["?before_seq=abc", "?before_seq=0"] {
        app.get(&format!("{path}{query}"), Some(&token))
            .await
            .expect_invalid("before_seq");
    }
    assert_eq!(
        page(&app, &token, &path, "?limit=1").await,
        (vec![1], false)
    );
    assert_eq!(
        page(&app, &token, &path, "?limit=200").await,
        (vec![1], false)
    );
}

#[actix_web::test]
async fn after_seq_and_before_seq_together_read_the_window_between_them_upwards() {
    let (app, token, path) = channel_with_messages(7).await;
    for (query, seqs, has_more) in [
        ("?after_seq=1&before_seq=5", vec![2, 3, 4], false),
        ("?after_seq=1&before_seq=5&limit=2", vec![2, 3], true),
        ("?after_seq=4&before_seq=5", vec![], false),
        ("?after_seq=6&before_seq=2", vec![], false),
    ] {
        assert_eq!(
            page(&app, &token, &path, query).await,
            (seqs, has_more),
            "{query}"
        );
    }
}
