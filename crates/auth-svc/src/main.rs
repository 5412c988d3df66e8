//! auth-svc's process entry: `auth-svc` serves, `auth-svc migrate` migrates.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    majlis_runtime::bootstrap::main::<auth_svc::AuthSvc>()
}
