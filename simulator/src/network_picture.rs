//! What the run report's picture of the network (`peerlab run --html`) and the live network view
//! (`peerlab up`, `peerlab run`) draw alike: where each instance sits, the colours of health, and
//! escaping of user-given names. One place, so the two pictures stay the same picture.

use std::f64::consts::PI;

/// A peering whose sides both have liquidity to grant; instances when every invariant held.
pub const HEALTHY: &str = "#2e7d32";
/// A peering one side of which has nothing left to grant.
pub const STRAINED: &str = "#ef6c00";
/// Instances when an invariant broke.
pub const BROKEN: &str = "#c62828";

/// Radius of the circle of instances, up to this many instances.
const BASE_RADIUS: f64 = 170.0;
/// Room each instance gets on the circle once there are too many for the base radius.
const SPACING: f64 = 16.0;
const BASE_WIDTH: f64 = 720.0;
const BASE_HEIGHT: f64 = 480.0;
/// Room around the circle for labels.
const MARGIN_X: f64 = 100.0;
const MARGIN_Y: f64 = 70.0;

/// Instances on a circle: the picture's size and each instance's centre, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub positions: Vec<(f64, f64)>,
}

impl Layout {
    /// `count` instances evenly on a circle starting at the top, clockwise; one instance sits in
    /// the middle. The circle grows with the count so that neighbours keep their distance.
    pub fn circle(count: usize) -> Self {
        let radius = match count {
            0 | 1 => 0.0,
            _ => BASE_RADIUS.max(count as f64 * SPACING / (2.0 * PI)),
        };
        let width = BASE_WIDTH.max(2.0 * (radius + MARGIN_X));
        let height = BASE_HEIGHT.max(2.0 * (radius + MARGIN_Y));
        let positions = (0..count)
            .map(|index| {
                let angle = 2.0 * PI * index as f64 / count as f64 - PI / 2.0;
                (
                    width / 2.0 + radius * angle.cos(),
                    height / 2.0 + radius * angle.sin(),
                )
            })
            .collect();
        Self {
            width,
            height,
            positions,
        }
    }
}

/// Whether a peering is strained: one side has nothing left to grant the other.
pub fn strained(grants: &[u64]) -> bool {
    grants.contains(&0)
}

/// Escapes text for HTML and SVG content and attributes (topology names are user input).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_networks_sit_on_the_reports_circle() {
        let layout = Layout::circle(4);
        assert_eq!((layout.width, layout.height), (720.0, 480.0));
        let rounded: Vec<(i64, i64)> = layout
            .positions
            .iter()
            .map(|(x, y)| (x.round() as i64, y.round() as i64))
            .collect();
        assert_eq!(rounded, vec![(360, 70), (530, 240), (360, 410), (190, 240)]);
        assert_eq!(Layout::circle(1).positions, vec![(360.0, 240.0)]);
    }

    #[test]
    fn large_networks_get_a_larger_circle_inside_the_picture() {
        let layout = Layout::circle(500);
        assert!(layout.width > 720.0 && layout.height > 480.0);
        for (x, y) in &layout.positions {
            assert!((0.0..=layout.width).contains(x) && (0.0..=layout.height).contains(y));
        }
        let (a, b) = (layout.positions[0], layout.positions[1]);
        let distance = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        assert!(distance > SPACING * 0.99, "{distance}");
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
