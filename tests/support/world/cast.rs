//! The world's fixed cast as data: investors with their domains and
//! contacts as the CRM lists them, the exclusions, and name parts for
//! strangers. `people` turns it into addresses.

/// Mail domains no investor may match by domain.
pub const PUBLIC_DOMAINS: &[&str] = &["gmail.com", "outlook.com", "yahoo.com"];
pub const IDN_UNICODE: &str = "bücher.example";
pub const IDN_ASCII: &str = "xn--bcher-kva.example";

/// (name, domains as listed, contacts as listed: (address, name)).
pub type InvestorRow = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

pub const INVESTORS: &[InvestorRow] = &[
    (
        "Acme Ventures",
        &["acme.example"],
        &[
            ("x+vc@acme.example", "Xavier Vance"),
            ("pat.lee@acme.example", "Pat Lee"),
        ],
    ),
    (
        "Globex Capital",
        &["globex.example", "globex-capital.example"],
        &[
            ("ana@globex.example", "Ana Souza"),
            ("bo.chen@globex-capital.example", "Bo Chen"),
        ],
    ),
    (
        "Initech Partners",
        &["initech.example", "gmail.com"],
        &[
            ("jane.doe@gmail.com", "Jane Doe"),
            ("raj@initech.example", "Raj Patel"),
        ],
    ),
    (
        "Bücher Stiftung",
        &[IDN_UNICODE],
        &[
            ("hans@bücher.example", "Hans Müller"),
            ("eva@xn--bcher-kva.example", "Eva Schäfer"),
        ],
    ),
    (
        "Umbrella Fund",
        &["umbrella.example"],
        &[("al@umbrella.example", "Al Wesker")],
    ),
    (
        "Hooli Growth",
        &["hooli.example"],
        &[
            ("gavin@hooli.example", "Gavin Belson"),
            ("denise@hooli.example", "Denise Ng"),
        ],
    ),
    (
        "Stark Industries LP",
        &["stark.example"],
        &[
            ("pepper@stark.example", "Pepper Potts"),
            ("happy.h@stark.example", "Happy Hogan"),
        ],
    ),
    (
        "Wayne Family Office",
        &["wayne.example"],
        &[
            ("lucius@wayne.example", "Lucius Fox"),
            ("alfred.p@wayne.example", "Alfred Pennyworth"),
        ],
    ),
    (
        "Wonka Capital",
        &["wonka.example"],
        &[("charlie@wonka.example", "Charlie Bucket")],
    ),
    (
        "Tyrell Partners",
        &["tyrell.example"],
        &[
            ("rachael@tyrell.example", "Rachael Tyrell"),
            ("eldon@tyrell.example", "Eldon Tyrell"),
        ],
    ),
    (
        "Soylent Fund",
        &["soylent.example"],
        &[("sol@soylent.example", "Sol Roth")],
    ),
    (
        "Cyberdyne Ventures",
        &["cyberdyne.example"],
        &[
            ("miles.d@cyberdyne.example", "Miles Dyson"),
            ("zoe@cyberdyne.example", "Zoë Ångström"),
        ],
    ),
    (
        "Vandelay Capital",
        &["vandelay.example"],
        &[("art@vandelay.example", "Art Vandelay")],
    ),
    (
        "Pied Piper Holdings",
        &["piedpiper.example"],
        &[
            ("monica@piedpiper.example", "Monica Hall"),
            ("jared@piedpiper.example", "Jared Dunn"),
        ],
    ),
    (
        "Oscorp Growth",
        &["oscorp.example"],
        &[("norman@oscorp.example", "Norman Osborn")],
    ),
    (
        "Massive Dynamic",
        &["massive.example"],
        &[
            ("nina@massive.example", "Nina Sharp"),
            ("walter@massive.example", "Walter Bishop"),
        ],
    ),
    (
        "Dunder Capital",
        &["dunder.example"],
        &[("jan@dunder.example", "Jan Levinson")],
    ),
    (
        "Sterling Cooper Fund",
        &["sterling.example"],
        &[
            ("joan@sterling.example", "Joan Holloway"),
            ("roger@sterling.example", "Roger Sterling"),
        ],
    ),
    (
        "Aperture Science LP",
        &["aperture.example"],
        &[("cave@aperture.example", "Cave Johnson")],
    ),
    (
        "Gekko & Co",
        &["gekko.example"],
        &[
            ("gordon@gekko.example", "Gordon Gekko"),
            ("bud.fox@gekko.example", "Bud Fox"),
        ],
    ),
];

pub const ACME: usize = 0;
pub const GLOBEX: usize = 1;
pub const INITECH: usize = 2;
pub const BUCHER: usize = 3;
pub const UMBRELLA: usize = 4;
pub const HOOLI: usize = 5;
pub const EXCLUDED_ADDRESS: &str = "secret@hooli.example";
pub const EXCLUDED_DOMAIN: &str = "umbrella.example";

pub const NONCONTACT_LOCALS: &[&str] = &[
    "info",
    "team",
    "analyst",
    "partner",
    "ops",
    "deals",
    "ir",
    "assistant",
    "associate",
    "research",
];
pub const FIRST: &[&str] = &[
    "sam", "lee", "kim", "alex", "max", "noa", "ria", "tom", "ivy", "ben",
];
pub const LAST: &[&str] = &[
    "smith", "jones", "garcia", "nguyen", "brown", "rossi", "kowalski", "sato",
];
pub const STRANGER_NAMES: &[&str] = &[
    "Sam Smith",
    "Noa Garcia",
    "Ivy Rossi",
    "René Lefèvre",
    "Łukasz Kowalski",
];
