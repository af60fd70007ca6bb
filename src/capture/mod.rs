//! capture: every enrolled mailbox captured, matched and stored (SPEC §5–§7).
//! (Being built; see the submodules.)

pub mod push;
