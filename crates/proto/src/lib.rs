//! Generated gRPC clients, servers and messages for every service in `proto/`.
//! Nothing here is written by hand: change the `.proto` files instead.

#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

pub mod auth {
    pub mod v1 {
        tonic::include_proto!("majlis.auth.v1");
    }
}

pub mod errors {
    pub mod v1 {
        tonic::include_proto!("majlis.errors.v1");
    }
}

pub mod channels {
    pub mod v1 {
        tonic::include_proto!("majlis.channels.v1");
    }
}

pub mod audit {
    pub mod v1 {
        tonic::include_proto!("majlis.audit.v1");
    }
}
