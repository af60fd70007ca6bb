//! Proposed activity notes (SPEC §7): the note text for a newly matched
//! email — deterministic ([`note`], written by the store as it creates the
//! proposal), or an LLM draft when `CRM_LLM_BASE_URL` is set ([`llm`], the
//! OpenAI-compatible client; [`worker`], the loop that offers each pending
//! deterministic note to the LLM once), falling back to deterministic on
//! any failure. Proposals themselves live in `crate::store::proposals`.

pub mod llm;
pub mod note;
pub mod worker;

use crate::store::proposals::NoteJob;

/// The instructions the model gets with every note.
pub const SYSTEM_PROMPT: &str = "You write one short activity note for a venture capital \
fund's CRM about an email exchanged with an investor. Write two or three plain sentences \
saying who wrote to whom and what it is about. No greeting, no markdown, no speculation: \
use only the facts given.";

/// The user message for one proposal: the facts and the email's start.
pub fn prompt(job: &NoteJob) -> String {
    format!(
        "Investor: {}\nDirection: {}\nSubject: {}\nSummary: {}\n\nEmail excerpt:\n{}",
        job.investor_name, job.direction, job.subject, job.note, job.excerpt
    )
}
