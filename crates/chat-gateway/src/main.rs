//! chat-gateway's process entry.

// The system allocator, unlike the API services: measured on 10k idle
// sockets, mimalloc held 8-9 KiB more per socket, with the same CPU per
// delivery and per message (BENCHMARKS.md, section (c)).
fn main() -> anyhow::Result<()> {
    majlis_runtime::bootstrap::main::<chat_gateway::ChatGateway>()
}
