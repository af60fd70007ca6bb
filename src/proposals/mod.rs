//! Proposed activity notes (SPEC §7): the note text for a newly matched
//! email — deterministic, or an LLM draft when `CRM_LLM_BASE_URL` is set,
//! falling back to deterministic on any failure.
