//! Groups of fields that several model types carry alike, declared once.
//!
//! Sharing them through `#[serde(flatten)]` would read every entry through serde's buffered
//! path, on every stage's hot path; [`model_struct!`] writes the fields into each struct
//! instead, so each type reads as fast as a plain struct.

/// Declares a model struct in which `..group,` stands for a group of fields several types
/// carry with the same wire names, readings and docs; every other field is written out as in
/// a plain struct:
///
/// - `..activity_key,`: `accountId`, `brand`, `promoCode`, `attemptId`, as CPP and EPPM
///   activities both carry them;
/// - `..progress,`: `activityType`, `current`, `target`, `status` of one reward's progress
///   (a CPP entry, and its enriched form), and the entry's `ProgressTexts` for the checks
///   (the struct declares `reward_scheme_id` itself: the two read it differently);
/// - `..scheme,`: `products`, `rewardType`, `productRewardType`, `tierDefinition`,
///   `expirationDate` of a reward scheme (PPH's, and the copy in an enriched entry);
/// - `..promotion_details,`: `promoName`, `promoUrl`, `tags` of a promotion (PPH's, and the
///   copy in an enriched activity).
///
/// The module using it imports what the fields name: `tolerant`, and `DateTime`/`Utc`,
/// `ProgressStatus` and `ProgressTexts`, or `TierDefinition` and `timestamp`, for the groups that
/// hold them.
macro_rules! model_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        model_struct!(@fields [$(#[$meta])*] $name [] [] $($body)*);
    };
    (@fields $meta:tt $name:ident [$($done:tt)*] $extra:tt ..activity_key, $($rest:tt)*) => {
        model_struct!(@fields $meta $name [$($done)*
            /// The customer.
            #[serde(deserialize_with = "tolerant::id")]
            pub account_id: String,
            /// The brand the customer plays on; empty when absent (the promotion's brand is
            /// used).
            #[serde(default, deserialize_with = "tolerant::optional_id")]
            pub brand: String,
            /// The promotion.
            #[serde(deserialize_with = "tolerant::id")]
            pub promo_code: String,
            /// The customer's attempt at the promotion (for example the week).
            #[serde(deserialize_with = "tolerant::id")]
            pub attempt_id: String,
        ] $extra $($rest)*);
    };
    (@fields $meta:tt $name:ident [$($done:tt)*] [$($extra:tt)*] ..progress, $($rest:tt)*) => {
        model_struct!(@fields $meta $name [$($done)*
            /// Free text; DES decides on it (it knows `FREE_SPINS`, `FREE_BET` and
            /// `GAMING_BONUS`).
            #[serde(default, deserialize_with = "tolerant::null_as_default")]
            pub activity_type: String,
            /// Progress so far.
            #[serde(default, deserialize_with = "tolerant::count_or_zero")]
            pub current: u64,
            /// Progress needed.
            #[serde(default, deserialize_with = "tolerant::count_or_zero")]
            pub target: u64,
            /// Status of this reward: free text, carried as it is.
            #[serde(
                default,
                skip_serializing_if = "ProgressStatus::is_absent",
                deserialize_with = "tolerant::null_as_default"
            )]
            pub status: ProgressStatus,
        ] [$($extra)*
            impl ProgressTexts for $name {
                fn texts(&self) -> (&str, &str, &str) {
                    (&self.reward_scheme_id, &self.activity_type, self.status.as_str())
                }
            }
        ] $($rest)*);
    };
    (@fields $meta:tt $name:ident [$($done:tt)*] $extra:tt ..scheme, $($rest:tt)*) => {
        model_struct!(@fields $meta $name [$($done)*
            /// Products the reward applies to.
            #[serde(default, deserialize_with = "tolerant::null_as_default")]
            pub products: Vec<String>,
            /// Kind of reward (for example `FREE_SPINS`; empty when PPH has none).
            #[serde(default, deserialize_with = "tolerant::null_as_default")]
            pub reward_type: String,
            /// Product-specific kind of reward (empty when PPH has none).
            #[serde(default, deserialize_with = "tolerant::null_as_default")]
            pub product_reward_type: String,
            /// The tiers of the reward, as PPH wrote them.
            #[serde(default)]
            pub tier_definition: TierDefinition,
            /// When the reward expires; `None`: never.
            #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::option")]
            pub expiration_date: Option<DateTime<Utc>>,
        ] $extra $($rest)*);
    };
    (@fields $meta:tt $name:ident [$($done:tt)*] $extra:tt ..promotion_details, $($rest:tt)*) => {
        model_struct!(@fields $meta $name [$($done)*
            /// The promotion's display name (empty when PPH has none).
            #[serde(default, deserialize_with = "tolerant::null_as_default")]
            pub promo_name: String,
            /// Where the customer reads about the promotion (empty when PPH has none).
            #[serde(default, deserialize_with = "tolerant::null_as_default")]
            pub promo_url: String,
            /// The promotion's tags; TIM keeps only promotions tagged with its filter tag.
            #[serde(default, deserialize_with = "tolerant::null_as_default")]
            pub tags: Vec<String>,
        ] $extra $($rest)*);
    };
    (@fields $meta:tt $name:ident [$($done:tt)*] $extra:tt
        $(#[$attr:meta])* pub $field:ident: $ty:ty, $($rest:tt)*) => {
        model_struct!(@fields $meta $name [$($done)* $(#[$attr])* pub $field: $ty,] $extra $($rest)*);
    };
    (@fields [$($meta:tt)*] $name:ident [$($done:tt)*] [$($extra:tt)*]) => {
        $($meta)* pub struct $name { $($done)* }
        $($extra)*
    };
}
pub(crate) use model_struct;
