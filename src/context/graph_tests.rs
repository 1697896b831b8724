//! Tests of the PageRank power iteration against a dense reference, and its edge cases.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-5
}

/// A dense textbook implementation to compare against.
fn dense(n: usize, edges: &[(u32, u32, f64)], p: &[f64]) -> Vec<f64> {
    let mut m = vec![vec![0.0; n]; n];
    for &(a, b, w) in edges {
        m[a as usize][b as usize] += w;
    }
    let sum: f64 = p.iter().sum();
    let p: Vec<f64> = p.iter().map(|x| x / sum).collect();
    let mut x = p.clone();
    for _ in 0..1000 {
        let mut next = vec![0.0; n];
        let mut dangling = 0.0;
        for i in 0..n {
            let out: f64 = m[i].iter().sum();
            if out == 0.0 {
                dangling += x[i];
                continue;
            }
            for j in 0..n {
                next[j] += x[i] * m[i][j] / out;
            }
        }
        for j in 0..n {
            next[j] = 0.85 * (next[j] + dangling * p[j]) + 0.15 * p[j];
        }
        x = next;
    }
    x
}

#[test]
fn a_cycle_ranks_every_node_equally() {
    let edges = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0)];
    let result = pagerank_edges(3, &edges, &[], PageRankOptions::default());
    assert!(result.converged);
    for rank in &result.ranks {
        assert!(close(*rank, 1.0 / 3.0), "{:?}", result.ranks);
    }
}

#[test]
fn the_hub_of_a_star_ranks_first_and_ranks_sum_to_one() {
    let edges: Vec<(u32, u32, f64)> = (1..6).map(|i| (i, 0, 1.0)).collect();
    let result = pagerank_edges(6, &edges, &[], PageRankOptions::default());
    let sum: f64 = result.ranks.iter().sum();
    assert!(close(sum, 1.0), "{sum}");
    for leaf in 1..6 {
        assert!(result.ranks[0] > 3.0 * result.ranks[leaf]);
    }
}

#[test]
fn matches_a_dense_reference_with_weights_dangling_nodes_and_personalization() {
    // A small irregular graph: node 4 is dangling, node 5 isolated, weights uneven.
    let edges = [(0, 1, 3.0), (0, 2, 1.0), (1, 2, 1.0), (2, 0, 2.0), (2, 3, 0.5), (3, 4, 1.0), (1, 4, 10.0)];
    for p in [vec![1.0; 6], vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0], vec![5.0, 0.0, 1.0, 0.0, 0.0, 2.0]] {
        let ours = pagerank_edges(6, &edges, &p, PageRankOptions::default());
        let reference = dense(6, &edges, &p);
        for (a, b) in ours.ranks.iter().zip(&reference) {
            assert!(close(*a, *b), "p = {p:?}\nours {:?}\nref  {reference:?}", ours.ranks);
        }
    }
}

#[test]
fn personalization_pulls_rank_towards_its_nodes() {
    let edges = [(0, 1, 1.0), (1, 0, 1.0), (2, 3, 1.0), (3, 2, 1.0)];
    let focused = pagerank_edges(4, &edges, &[1.0, 0.0, 0.0, 0.0], PageRankOptions::default());
    assert!(focused.ranks[0] + focused.ranks[1] > 0.99);
    assert!(focused.ranks[0] > focused.ranks[1]);
}

#[test]
fn the_factored_chain_equals_its_expansion() {
    // Two files reference a name defined in files 2 and 3 (weights 1 and 3 there).
    let out = Csr::from_triples(4, &[(0, 0, 2.0), (1, 0, 1.0), (1, 1, 1.0)]);
    let into = Csr::from_triples(2, &[(0, 2, 1.0), (0, 3, 3.0), (1, 0, 1.0)]);
    let factored = pagerank(&out, &into, &[], PageRankOptions::default());
    let expanded = [(0, 2, 2.0 * 0.25), (0, 3, 2.0 * 0.75), (1, 2, 0.25), (1, 3, 0.75), (1, 0, 1.0)];
    let reference = dense(4, &expanded, &[1.0; 4]);
    for (a, b) in factored.ranks.iter().zip(&reference) {
        assert!(close(*a, *b), "{:?} vs {reference:?}", factored.ranks);
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    assert!(pagerank_edges(0, &[], &[], PageRankOptions::default()).ranks.is_empty());
    let lone = pagerank_edges(1, &[(0, 0, 1.0)], &[f64::NAN], PageRankOptions::default());
    assert!(close(lone.ranks[0], 1.0));
    // Out-of-range nodes are ignored, zero weights make a node dangling.
    let odd = pagerank_edges(2, &[(0, 7, 1.0), (5, 1, 1.0), (1, 0, 0.0)], &[], PageRankOptions::default());
    assert!(close(odd.ranks.iter().sum::<f64>(), 1.0));
    let capped = pagerank_edges(
        3,
        &[(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0)],
        &[1.0, 0.0, 0.0],
        PageRankOptions { max_iterations: 2, ..PageRankOptions::default() },
    );
    assert_eq!(capped.iterations, 2);
    assert!(!capped.converged);
}

#[test]
fn a_large_sparse_graph_converges_quickly() {
    // 20k nodes, 200k edges: a ring plus pseudo-random chords.
    let n = 20_000u32;
    let mut edges = Vec::new();
    let mut state = 12345u64;
    for i in 0..n {
        edges.push((i, (i + 1) % n, 1.0));
        for _ in 0..9 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            edges.push((i, ((state >> 33) % u64::from(n)) as u32, 1.0));
        }
    }
    let started = std::time::Instant::now();
    let result = pagerank_edges(n as usize, &edges, &[], PageRankOptions::default());
    assert!(result.converged, "{} iterations", result.iterations);
    assert!(close(result.ranks.iter().sum::<f64>(), 1.0));
    assert!(started.elapsed().as_secs() < 10);
}
