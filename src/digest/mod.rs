//! The daily digest (SPEC §10): builder, policy, scheduler and the one
//! module that sends (Gmail `messages.send`, else SMTP), exactly once per
//! local day.
