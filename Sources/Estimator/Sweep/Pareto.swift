/// The Pareto front of design points under two costs to minimise (area and cycles).
public enum Pareto {
    /// Indices of the points no other point beats on both costs (ties on both keep the first),
    /// in ascending order of the first cost.
    public static func front(_ points: [(area: Double, cycles: Double)]) -> [Int] {
        var keep: [Int] = []
        for (i, p) in points.enumerated() {
            let dominated = points.enumerated().contains { j, q in
                j != i && q.area <= p.area && q.cycles <= p.cycles && (q.area < p.area || q.cycles < p.cycles || j < i)
            }
            if !dominated { keep.append(i) }
        }
        return keep.sorted { points[$0].area < points[$1].area || (points[$0].area == points[$1].area && $0 < $1) }
    }
}
