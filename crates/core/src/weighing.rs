//! Weighing a packed box against what it should weigh: the items' unit weights (from the shop
//! or the stock screen) times their quantities, plus the empty box's tare. A box outside the
//! tolerance is held before a label is bought for it, with the difference said in the
//! warehouse's unit and, when one item explains it, which ("0.42 lb heavy: an extra mug?").
//! Pure: the service gathers the weights and the settings, this decides.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{Sku, Weight, WeightUnit};
use crate::workflow::OrderLine;

/// Where a SKU's unit weight came from. The stock screen's (a weight measured at the bench)
/// wins over the shop's, which an import never overwrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightSource {
    /// The shop's variant weight, read on import.
    Shop,
    /// Entered on the stock screen.
    Bench,
}

impl WeightSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shop => "shop",
            Self::Bench => "bench",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "shop" => Some(Self::Shop),
            "bench" => Some(Self::Bench),
            _ => None,
        }
    }
}

/// One SKU's unit weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkuWeight {
    pub sku: Sku,
    pub weight: Weight,
    pub source: WeightSource,
    pub updated_at: crate::model::Timestamp,
}

/// A non-negative weight (a tolerance may be zero, unlike a box's weight).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowance {
    pub value: f64,
    pub unit: WeightUnit,
}

impl Allowance {
    pub fn grams(self) -> f64 {
        self.value * self.unit.grams_per_unit()
    }
}

/// The tenant's rule for weighing boxes (`settings.weight_check`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeightCheck {
    pub enabled: bool,
    /// A box within this much of its expected weight passes...
    pub tolerance: Allowance,
    /// ...or within this percent of it, whichever allows more (a scale's last digit matters
    /// on a light parcel, a percent on a heavy one).
    pub tolerance_percent: f64,
    /// Operators (by username) who may pack a box off its weight with a reason; admins
    /// always may.
    pub may_override: Vec<String>,
}

impl Default for WeightCheck {
    fn default() -> Self {
        Self {
            enabled: true,
            tolerance: Allowance {
                value: 0.1,
                unit: WeightUnit::Lb,
            },
            tolerance_percent: 5.0,
            may_override: Vec::new(),
        }
    }
}

impl WeightCheck {
    /// What is wrong with these settings, if anything: (field, what to write instead).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        let t = self.tolerance;
        if !t.value.is_finite() || t.value < 0.0 || t.grams() > 10_000.0 {
            return Some((
                "weight_check.tolerance",
                "the tolerance is a weight from 0 to 10 kg, e.g. {\"value\": 0.1, \"unit\": \"lb\"}",
            ));
        }
        if !self.tolerance_percent.is_finite() || !(0.0..=50.0).contains(&self.tolerance_percent) {
            return Some((
                "weight_check.tolerance_percent",
                "the tolerance percent is a number from 0 to 50",
            ));
        }
        if self.may_override.len() > 200
            || self
                .may_override
                .iter()
                .any(|u| u.trim().is_empty() || u.len() > 64)
        {
            return Some((
                "weight_check.may_override",
                "may_override lists at most 200 usernames",
            ));
        }
        None
    }

    /// The most a box may be off by, in grams, when it should weigh `expected_g`.
    pub fn allowed_grams(&self, expected_g: f64) -> f64 {
        self.tolerance
            .grams()
            .max(expected_g * self.tolerance_percent / 100.0)
    }
}

/// What a box's items should weigh, as far as their weights are known.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsWeight {
    /// The items' weight in grams; `None` when a SKU's weight is not known.
    pub grams: Option<f64>,
    /// The SKUs whose unit weight is not known.
    pub unknown: Vec<Sku>,
}

/// The weight of every unit of the order's lines (keys are `Sku::key`).
pub fn items_weight(lines: &[OrderLine], weights: &HashMap<String, Weight>) -> ItemsWeight {
    let mut grams = 0.0;
    let mut unknown: Vec<Sku> = Vec::new();
    for l in lines {
        match weights.get(&l.sku.key()) {
            Some(w) => grams += w.grams() * f64::from(l.quantity),
            None => {
                if !unknown.contains(&l.sku) {
                    unknown.push(l.sku.clone());
                }
            }
        }
    }
    ItemsWeight {
        grams: unknown.is_empty().then_some(grams),
        unknown,
    }
}

/// How a weighed box came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within the tolerance.
    Within,
    /// Outside it: held until someone allowed says why it is right.
    Held,
    /// Some item's weight is not known: nothing to weigh against.
    Unknown,
}

/// A box weighed against its expected weight, in the warehouse's unit (what the pack event
/// records and what a held pack answers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weighing {
    pub verdict: Verdict,
    pub unit: WeightUnit,
    /// Items plus tare; `None` when an item's weight is not known.
    pub expected: Option<f64>,
    pub actual: f64,
    /// Actual minus expected: above 0 heavy, below 0 light.
    pub difference: Option<f64>,
    /// How far off a box may be.
    pub allowed: Option<f64>,
    pub tare: f64,
    pub unknown_skus: Vec<String>,
    /// What the difference most likely is ("an extra Enamel mug?").
    pub hint: Option<String>,
}

impl Weighing {
    /// One line for the packer: "0.42 lb heavy: an extra Enamel mug? (expected 1.39 lb, the
    /// box weighs 1.81 lb; allowed ±0.10 lb)".
    pub fn message(&self) -> String {
        match (self.expected, self.difference, self.allowed) {
            (Some(expected), Some(d), Some(allowed)) if self.verdict != Verdict::Unknown => {
                let side = if d > 0.0 { "heavy" } else { "light" };
                let hint = self
                    .hint
                    .as_deref()
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default();
                format!(
                    "{} {side}{hint} (expected {}, the box weighs {}; allowed ±{})",
                    shown(d.abs(), self.unit),
                    shown(expected, self.unit),
                    shown(self.actual, self.unit),
                    shown(allowed, self.unit)
                )
            }
            _ => format!(
                "the expected weight is not known: no weight is recorded for {}",
                self.unknown_skus.join(", ")
            ),
        }
    }
}

/// A weight as the bench reads it: the unit's usual precision, with its unit.
pub fn shown(value: f64, unit: WeightUnit) -> String {
    let digits = match unit {
        WeightUnit::Lb => 2,
        WeightUnit::Oz => 1,
        WeightUnit::Kg => 3,
        WeightUnit::G => 0,
    };
    format!("{value:.digits$} {}", unit.as_str())
}

fn in_unit(grams: f64, unit: WeightUnit) -> f64 {
    grams / unit.grams_per_unit()
}

/// Weighs a box: `actual` (the scale) against the order's items and the box's `tare`.
pub fn weigh(
    lines: &[OrderLine],
    weights: &HashMap<String, Weight>,
    tare: Option<Weight>,
    actual: Weight,
    rule: &WeightCheck,
    unit: WeightUnit,
) -> Weighing {
    let items = items_weight(lines, weights);
    let tare_g = tare.map_or(0.0, Weight::grams);
    let actual_g = actual.grams();
    let Some(items_g) = items.grams else {
        return Weighing {
            verdict: Verdict::Unknown,
            unit,
            expected: None,
            actual: in_unit(actual_g, unit),
            difference: None,
            allowed: None,
            tare: in_unit(tare_g, unit),
            unknown_skus: items.unknown.iter().map(ToString::to_string).collect(),
            hint: None,
        };
    };
    let expected_g = items_g + tare_g;
    let difference_g = actual_g - expected_g;
    let allowed_g = rule.allowed_grams(expected_g);
    let within = difference_g.abs() <= allowed_g;
    Weighing {
        verdict: if within {
            Verdict::Within
        } else {
            Verdict::Held
        },
        unit,
        expected: Some(in_unit(expected_g, unit)),
        actual: in_unit(actual_g, unit),
        difference: Some(in_unit(difference_g, unit)),
        allowed: Some(in_unit(allowed_g, unit)),
        tare: in_unit(tare_g, unit),
        unknown_skus: Vec::new(),
        hint: (!within).then(|| hint(lines, weights, difference_g, allowed_g)),
    }
}

/// The one item whose weight best explains the difference, if one does within the tolerance:
/// an extra one when heavy, a missing one when light.
fn hint(
    lines: &[OrderLine],
    weights: &HashMap<String, Weight>,
    difference_g: f64,
    allowed_g: f64,
) -> String {
    let heavy = difference_g > 0.0;
    let best = lines
        .iter()
        .filter_map(|l| Some((l, weights.get(&l.sku.key())?.grams())))
        .map(|(l, w)| (l, (difference_g.abs() - w).abs()))
        .filter(|(_, off)| *off <= allowed_g)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match (best, heavy) {
        (Some((l, _)), true) => format!("an extra {}?", l.title),
        (Some((l, _)), false) => format!("a missing {}?", l.title),
        (None, true) => "an extra item, or a heavier box than chosen?".into(),
        (None, false) => "an item missing?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, title: &str, quantity: u32) -> OrderLine {
        OrderLine {
            line_no: 1,
            sku: Sku::parse(sku).unwrap(),
            barcode: None,
            title: title.into(),
            quantity,
            picked: quantity,
        }
    }

    fn lb(v: f64) -> Weight {
        Weight::new(v, WeightUnit::Lb).unwrap()
    }

    fn order() -> (Vec<OrderLine>, HashMap<String, Weight>) {
        let lines = vec![line("MUG", "Enamel mug", 2), line("TOTE", "Canvas tote", 1)];
        let weights = HashMap::from([("MUG".to_owned(), lb(0.42)), ("TOTE".to_owned(), lb(0.3))]);
        (lines, weights)
    }

    #[test]
    fn a_box_within_the_tolerance_passes() {
        let (lines, weights) = order();
        // 2 × 0.42 + 0.3 + 0.25 tare = 1.39 lb; 1.45 is 0.06 over, within 0.1.
        let w = weigh(
            &lines,
            &weights,
            Some(lb(0.25)),
            lb(1.45),
            &WeightCheck::default(),
            WeightUnit::Lb,
        );
        assert_eq!(w.verdict, Verdict::Within);
        assert!((w.expected.unwrap() - 1.39).abs() < 1e-9);
        assert!(w.hint.is_none());
    }

    #[test]
    fn an_extra_item_is_held_and_named() {
        let (lines, weights) = order();
        let w = weigh(
            &lines,
            &weights,
            Some(lb(0.25)),
            lb(1.81),
            &WeightCheck::default(),
            WeightUnit::Lb,
        );
        assert_eq!(w.verdict, Verdict::Held);
        assert_eq!(w.hint.as_deref(), Some("an extra Enamel mug?"));
        assert_eq!(
            w.message(),
            "0.42 lb heavy: an extra Enamel mug? (expected 1.39 lb, the box weighs 1.81 lb; allowed ±0.10 lb)"
        );
    }

    #[test]
    fn a_missing_item_is_held_and_named() {
        let (lines, weights) = order();
        let w = weigh(
            &lines,
            &weights,
            Some(lb(0.25)),
            lb(1.09),
            &WeightCheck::default(),
            WeightUnit::Lb,
        );
        assert_eq!(w.verdict, Verdict::Held);
        assert_eq!(w.hint.as_deref(), Some("a missing Canvas tote?"));
        assert!(
            w.message()
                .starts_with("0.30 lb light: a missing Canvas tote?")
        );
    }

    #[test]
    fn a_difference_no_item_explains_says_so() {
        let (lines, weights) = order();
        let w = weigh(
            &lines,
            &weights,
            None,
            lb(3.0),
            &WeightCheck::default(),
            WeightUnit::Lb,
        );
        assert_eq!(w.verdict, Verdict::Held);
        assert_eq!(
            w.hint.as_deref(),
            Some("an extra item, or a heavier box than chosen?")
        );
    }

    #[test]
    fn the_percent_allows_more_on_a_heavy_box() {
        let lines = vec![line("BLANKET", "Wool throw", 4)];
        let weights = HashMap::from([("BLANKET".to_owned(), lb(5.0))]);
        // 20 lb expected: 5 % is 1 lb, more than the 0.1 lb floor.
        let rule = WeightCheck::default();
        let pass = weigh(&lines, &weights, None, lb(20.9), &rule, WeightUnit::Lb);
        assert_eq!(pass.verdict, Verdict::Within);
        let held = weigh(&lines, &weights, None, lb(21.1), &rule, WeightUnit::Lb);
        assert_eq!(held.verdict, Verdict::Held);
        assert!((held.allowed.unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn an_unknown_weight_is_said_not_guessed() {
        let (mut lines, weights) = order();
        lines.push(line("INK", "Fountain pen ink", 1));
        lines.push(line("INK", "Fountain pen ink", 1));
        let w = weigh(
            &lines,
            &weights,
            None,
            lb(9.0),
            &WeightCheck::default(),
            WeightUnit::Lb,
        );
        assert_eq!(w.verdict, Verdict::Unknown);
        assert_eq!(w.unknown_skus, ["INK"]);
        assert_eq!(w.expected, None);
        assert_eq!(
            w.message(),
            "the expected weight is not known: no weight is recorded for INK"
        );
    }

    #[test]
    fn weights_in_other_units_are_compared_in_grams_and_shown_in_the_warehouses() {
        let lines = vec![line("MUG", "Enamel mug", 1)];
        let weights =
            HashMap::from([("MUG".to_owned(), Weight::new(200.0, WeightUnit::G).unwrap())]);
        let w = weigh(
            &lines,
            &weights,
            None,
            Weight::new(0.5, WeightUnit::Kg).unwrap(),
            &WeightCheck::default(),
            WeightUnit::Kg,
        );
        assert_eq!(w.verdict, Verdict::Held);
        assert_eq!(w.unit, WeightUnit::Kg);
        assert!((w.difference.unwrap() - 0.3).abs() < 1e-9);
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let named = |rule: WeightCheck| rule.problem().unwrap().0;
        let percent = WeightCheck {
            tolerance_percent: 80.0,
            ..WeightCheck::default()
        };
        assert_eq!(named(percent), "weight_check.tolerance_percent");
        let tolerance = WeightCheck {
            tolerance: Allowance {
                value: -1.0,
                unit: WeightUnit::Lb,
            },
            ..WeightCheck::default()
        };
        assert_eq!(named(tolerance), "weight_check.tolerance");
        let blank = WeightCheck {
            may_override: vec![" ".into()],
            ..WeightCheck::default()
        };
        assert_eq!(named(blank), "weight_check.may_override");
        assert_eq!(WeightCheck::default().problem(), None);
    }
}
