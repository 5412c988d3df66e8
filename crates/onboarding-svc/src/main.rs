//! onboarding-svc's process entry: `onboarding-svc` serves, `onboarding-svc migrate` migrates.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    majlis_runtime::bootstrap::main::<onboarding_svc::OnboardingSvc>()
}
