//! Attachments for generated mail: a pool of contents reused byte-for-byte
//! across emails (stored once), fresh contents, and the one part larger
//! than the cap (`too_large`); each with the row the product must record.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use super::compose::{Draft, Gen};
use super::mime::Part;
use super::AttTruth;

const ATT_TYPES: &[(&str, &str)] = &[
    ("application/pdf", "pdf"),
    ("image/png", "png"),
    ("text/csv", "csv"),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
];
/// Ten contents that matched mail reuses.
pub(super) fn shared_pool(rng: &mut StdRng) -> Vec<Part> {
    let mut pool = Vec::new();
    for n in 0..10 {
        let (mime_type, ext) = ATT_TYPES[n % ATT_TYPES.len()];
        let len = rng.gen_range(300..12_000);
        pool.push(Part {
            filename: format!("shared-{n}.{ext}"),
            mime_type: mime_type.to_string(),
            content: Arc::new(content(rng, ext, len)),
        });
    }
    pool
}

impl Gen {
    /// Parts to render, their expected rows, and whether one was reused.
    pub(super) fn attachments(
        &mut self,
        d: &Draft,
        matched: bool,
        tag: &str,
    ) -> (Vec<Part>, Vec<AttTruth>, bool) {
        let p = if matched { 0.2 } else { 0.08 };
        let n = match d.attachments {
            Some(n) => n,
            None if self.rng.gen_bool(p) => self.rng.gen_range(1..3),
            None => 0,
        };
        let mut parts = Vec::new();
        let mut reused = false;
        for k in 0..n {
            if matched && self.rng.gen_bool(0.4) {
                let mut part = self.pool.choose(&mut self.rng).unwrap().clone();
                if self.rng.gen_bool(0.3) {
                    part.filename = format!("copy-{tag}-{}", part.filename);
                }
                reused = true;
                parts.push(part);
                continue;
            }
            let (mime_type, ext) = *ATT_TYPES.choose(&mut self.rng).unwrap();
            let len = self.rng.gen_range(200..20_000);
            parts.push(Part {
                filename: format!("{tag}-{k}.{ext}"),
                mime_type: mime_type.into(),
                content: Arc::new(content(&mut self.rng, ext, len)),
            });
        }
        let big = d.big_attachment || (matched && n > 0 && !self.big_done);
        if big && matched {
            self.big_done = true;
            let len = (self.cap + self.cap / 2) as usize;
            parts.push(Part {
                filename: format!("{tag}-big.pdf"),
                mime_type: "application/pdf".into(),
                content: Arc::new(content(&mut self.rng, "pdf", len)),
            });
        }
        let atts = parts
            .iter()
            .map(|p| AttTruth {
                filename: p.filename.clone(),
                mime_type: p.mime_type.clone(),
                size: p.content.len() as u64,
                sha256: hex::encode(Sha256::digest(p.content.as_slice())),
                too_large: p.content.len() as u64 > self.cap,
            })
            .collect();
        (parts, atts, reused)
    }
}

fn content(rng: &mut StdRng, ext: &str, len: usize) -> Vec<u8> {
    let mut v = match ext {
        "pdf" => b"%PDF-1.4\n".to_vec(),
        "png" => b"\x89PNG\r\n\x1a\n".to_vec(),
        "csv" => b"date,amount,investor\n".to_vec(),
        _ => b"PK\x03\x04".to_vec(),
    };
    let start = v.len();
    v.resize(len.max(start + 16), 0);
    if ext == "csv" {
        for b in &mut v[start..] {
            *b = b"0123456789,\n"[rng.gen_range(0..12)];
        }
    } else {
        rng.fill_bytes(&mut v[start..]);
    }
    v
}
