//! Proposals (one per email and investor), decisions, the approved-activity feed and the review bot's marks (SPEC §7).
