//! Email HTML made safe to show in the CRM (ammonia): no script, no event
//! handlers, no `javascript:` links, no remote loads; `cid:` images kept.
