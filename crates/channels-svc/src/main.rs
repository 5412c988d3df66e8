//! channels-svc's process entry: `channels-svc` serves, `channels-svc migrate` migrates.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    majlis_runtime::bootstrap::main::<channels_svc::ChannelsSvc>()
}
