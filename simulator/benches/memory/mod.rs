//! What the benches that watch memory share: this process's resident memory.

/// This process's resident memory (VmRSS, from `/proc/self/status`), in bytes; 0 where there is
/// no such file.
pub fn resident_bytes() -> u64 {
    peerlab_simulator::run::resident_bytes().unwrap_or(0)
}
