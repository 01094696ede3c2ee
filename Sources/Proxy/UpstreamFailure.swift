/// Why an admitted session never reached its upstream; reported through
/// `AdmittedSession.onUpstreamFailure`.
public enum UpstreamFailure: Sendable, Equatable {
    /// The connection to the upstream could not be made.
    case unreachable
    /// The upstream did not finish authenticating within the session's deadline.
    case authenticationTimeout
}
