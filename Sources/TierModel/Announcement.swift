/// A message one TierGate instance publishes to the others on `RedisKey.invalidationChannel`.
///
/// The text is words separated by single spaces, the announcing instance first:
///
/// | event                | text                        |
/// | -------------------- | --------------------------- |
/// | an org's tier        | `<instance> <org>`          |
/// | every org's tier     | `<instance> *`              |
/// | a burst started      | `<instance> burst <org>`    |
/// | BURST OFF            | `<instance> burst-off <org>`|
/// | BURST ON             | `<instance> burst-on <org>` |
///
/// Org ids never contain a space and `*` is no org id, so the forms cannot be mistaken for
/// one another; an instance that does not know an event's word takes the message for
/// nothing (three words are never an org invalidation) rather than for an invalidation.
/// Anything else on the channel is not an announcement and is ignored.
public struct Announcement: Equatable, Sendable, CustomStringConvertible {
    public enum Event: Equatable, Sendable {
        /// The org's tier record changed: drop it locally and resolve it again.
        case tierChanged(OrgId)
        /// Every tier may have changed (INVALIDATE *).
        case allTiersChanged
        /// The org's burst started on the announcing instance.
        case burstStarted(OrgId)
        /// An operator switched the org's bursts off (BURST OFF).
        case burstSwitchedOff(OrgId)
        /// An operator switched the org's bursts back on (BURST ON).
        case burstSwitchedOn(OrgId)
    }

    /// The announcing instance's id, so it can skip its own messages. One word.
    public var from: String
    public var event: Event

    /// `from` must be one non-empty word (instance ids are UUIDs or host:port).
    public init(from: String, _ event: Event) {
        precondition(!from.isEmpty && !from.contains(" "), "an announcing instance id is one word: \(from.debugDescription)")
        self.from = from
        self.event = event
    }

    /// The text published on the channel.
    public var encoded: String {
        switch event {
        case .tierChanged(let org): "\(from) \(org)"
        case .allTiersChanged: "\(from) *"
        case .burstStarted(let org): "\(from) \(Self.burstStarted) \(org)"
        case .burstSwitchedOff(let org): "\(from) \(Self.burstSwitchedOff) \(org)"
        case .burstSwitchedOn(let org): "\(from) \(Self.burstSwitchedOn) \(org)"
        }
    }

    public var description: String { encoded }

    /// The announcement `text` encodes; nil for anything `encoded` never produces.
    public init?(parsing text: String) {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard words.count >= 2, !words[0].isEmpty else { return nil }
        switch words.count {
        case 2:
            if words[1] == "*" {
                event = .allTiersChanged
            } else if let org = try? OrgId(words[1]) {
                event = .tierChanged(org)
            } else {
                return nil
            }
        case 3:
            guard let org = try? OrgId(words[2]) else { return nil }
            switch words[1] {
            case Self.burstStarted: event = .burstStarted(org)
            case Self.burstSwitchedOff: event = .burstSwitchedOff(org)
            case Self.burstSwitchedOn: event = .burstSwitchedOn(org)
            default: return nil
            }
        default:
            return nil
        }
        from = words[0]
    }

    private static let burstStarted = "burst"
    private static let burstSwitchedOff = "burst-off"
    private static let burstSwitchedOn = "burst-on"
}
