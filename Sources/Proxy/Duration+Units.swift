/// `Duration` in the units Dispatch and the error texts take (seconds plus attoseconds in
/// `components`, easy to get wrong by a power of ten). Internal: the tier modules have
/// their own public copy in TierModel, which the proxy does not import.
extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var nanoseconds: Int {
        Int(components.seconds) * 1_000_000_000 + Int(components.attoseconds / 1_000_000_000)
    }
}
