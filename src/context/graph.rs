//! Personalized PageRank over sparse weighted graphs, by power iteration.
//!
//! The repository graph has an edge from each file to each file defining a name it references.
//! A name defined in many files and referenced from many files would need a quadratic number of
//! edges, so the transition is kept factored: file → name (weighted) and name → file (weights
//! normalized per name). That is exactly the file → file chain through each name, stored in two
//! CSR matrices whose sizes are the number of references and of definitions. A plain edge list
//! is the special case of one private "name" per edge ([`pagerank_edges`]).

/// A sparse matrix in compressed sparse row form: row `i`'s entries are
/// `cols[offsets[i]..offsets[i+1]]` with `weights` alongside.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    offsets: Vec<usize>,
    cols: Vec<u32>,
    weights: Vec<f64>,
}

impl Csr {
    /// Builds a matrix with `rows` rows from `(row, col, weight)` triples in any order;
    /// duplicates are kept (they add up in products).
    pub fn from_triples(rows: usize, triples: &[(u32, u32, f64)]) -> Csr {
        let mut offsets = vec![0usize; rows + 1];
        let triples: Vec<&(u32, u32, f64)> = triples.iter().filter(|t| (t.0 as usize) < rows).collect();
        for &&(row, _, _) in &triples {
            offsets[row as usize + 1] += 1;
        }
        for i in 0..rows {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut cols = vec![0u32; offsets[rows]];
        let mut weights = vec![0f64; offsets[rows]];
        for &&(row, col, weight) in &triples {
            let slot = &mut next[row as usize];
            cols[*slot] = col;
            weights[*slot] = weight;
            *slot += 1;
        }
        Csr { offsets, cols, weights }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The entries of `row` as `(col, weight)`.
    pub fn row(&self, row: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (start, end) = match (self.offsets.get(row), self.offsets.get(row + 1)) {
            (Some(&s), Some(&e)) => (s, e),
            _ => (0, 0),
        };
        self.cols[start..end].iter().zip(&self.weights[start..end]).map(|(&c, &w)| (c as usize, w))
    }

    /// The sum of `row`'s weights.
    pub fn row_sum(&self, row: usize) -> f64 {
        self.row(row).map(|(_, w)| w).sum()
    }
}

/// Settings of the power iteration.
#[derive(Debug, Clone, Copy)]
pub struct PageRankOptions {
    /// The probability of following an edge rather than teleporting.
    pub damping: f64,
    /// Stop when the L1 change of the rank vector falls below this.
    pub tolerance: f64,
    /// Stop after this many iterations regardless.
    pub max_iterations: usize,
}

impl Default for PageRankOptions {
    fn default() -> Self {
        PageRankOptions { damping: 0.85, tolerance: 1e-6, max_iterations: 100 }
    }
}

/// The ranks and how the iteration ended.
#[derive(Debug, Clone)]
pub struct PageRank {
    /// One rank per node; they sum to 1.
    pub ranks: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the tolerance was reached.
    pub converged: bool,
}

/// Personalized PageRank for the chain `node → mid → node`: `out` has one row per node (its
/// weighted edges to mids), `into` one row per mid (where it leads, any positive weights; they
/// are normalized per row). A node whose out-weights sum to zero is dangling: its rank is
/// redistributed by `personalization`, as is the teleport. `personalization` is normalized;
/// if it sums to zero it is taken as uniform.
pub fn pagerank(out: &Csr, into: &Csr, personalization: &[f64], options: PageRankOptions) -> PageRank {
    let n = out.rows();
    if n == 0 {
        return PageRank { ranks: Vec::new(), iterations: 0, converged: true };
    }
    let p = normalized(personalization, n);
    let out_sums: Vec<f64> = (0..n).map(|i| out.row_sum(i)).collect();
    // Edges to nodes that do not exist lead nowhere: they do not count in the sums.
    let into_sums: Vec<f64> =
        (0..into.rows()).map(|m| into.row(m).filter(|&(j, _)| j < n).map(|(_, w)| w).sum()).collect();
    let mut x = p.clone();
    let mut mid = vec![0f64; into.rows()];
    let mut next = vec![0f64; n];
    let alpha = options.damping;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < options.max_iterations {
        iterations += 1;
        mid.iter_mut().for_each(|v| *v = 0.0);
        next.iter_mut().for_each(|v| *v = 0.0);
        let mut dangling = 0.0;
        for (i, &rank) in x.iter().enumerate() {
            let total = out_sums[i];
            if total <= 0.0 {
                dangling += rank;
                continue;
            }
            let share = rank / total;
            for (m, w) in out.row(i) {
                if let Some(slot) = mid.get_mut(m) {
                    *slot += share * w;
                }
            }
        }
        for (m, &flow) in mid.iter().enumerate() {
            let total = into_sums[m];
            if flow == 0.0 {
                continue;
            }
            if total <= 0.0 {
                // A mid that leads nowhere behaves like a dangling node.
                dangling += flow;
                continue;
            }
            let share = flow / total;
            for (j, w) in into.row(m) {
                if let Some(slot) = next.get_mut(j) {
                    *slot += share * w;
                }
            }
        }
        let mut diff = 0.0;
        for j in 0..n {
            let value = alpha * (next[j] + dangling * p[j]) + (1.0 - alpha) * p[j];
            diff += (value - x[j]).abs();
            next[j] = value;
        }
        std::mem::swap(&mut x, &mut next);
        if diff < options.tolerance {
            converged = true;
            break;
        }
    }
    PageRank { ranks: x, iterations, converged }
}

/// Personalized PageRank over a plain weighted edge list `(from, to, weight)` on `n` nodes.
pub fn pagerank_edges(
    n: usize,
    edges: &[(u32, u32, f64)],
    personalization: &[f64],
    options: PageRankOptions,
) -> PageRank {
    let out: Vec<(u32, u32, f64)> = edges.iter().enumerate().map(|(e, &(from, _, w))| (from, e as u32, w)).collect();
    let into: Vec<(u32, u32, f64)> = edges.iter().enumerate().map(|(e, &(_, to, _))| (e as u32, to, 1.0)).collect();
    pagerank(&Csr::from_triples(n, &out), &Csr::from_triples(edges.len(), &into), personalization, options)
}

fn normalized(p: &[f64], n: usize) -> Vec<f64> {
    let mut v: Vec<f64> =
        (0..n).map(|i| p.get(i).copied().filter(|x| x.is_finite() && *x > 0.0).unwrap_or(0.0)).collect();
    let sum: f64 = v.iter().sum();
    if sum <= 0.0 {
        return vec![1.0 / n as f64; n];
    }
    v.iter_mut().for_each(|x| *x /= sum);
    v
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
