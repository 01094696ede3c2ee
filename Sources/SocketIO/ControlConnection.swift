import Dispatch

/// One connection of a `ControlServer`: frames what the peer sends, answers the requests in
/// order through the server's handler, writes the answers through its channel, and closes on
/// a timeout, a reset, or when an answer says so.
///
/// Guarantees:
/// - Requests are answered one at a time, in the order they arrived. A request's work runs
///   off the loop; its reply is written before anything that answers a later request.
/// - What the connection holds is bounded: the framer's limit, the frames of one read, and
///   the output of one answer. The peer is not read while an answer is being worked on or
///   while output waits for the peer to take it (backpressure through the channel).
/// - A peer that resets (or any socket error) closes the connection at once, whatever it is
///   doing: the channel watches for hang-up even while reading is paused. A peer that only
///   closed its sending side still gets the answers to what it sent, then the connection
///   closes at the end of its stream.
/// - Timeouts on the loop's timers: waiting for a request that is not complete within
///   `idleTimeout` (bytes of a partial request do not extend it), or output the peer does not
///   take within `writeTimeout`, closes the connection. Time spent on work does not count.
///
/// Used on its loop only; it crosses to the work queue only to come back with `loop.execute`.
final class ControlConnection: SocketChannelDelegate, TimerOwner, @unchecked Sendable {
    let channel: SocketChannel
    private let handler: any ControlRequestHandler
    private let configuration: ControlServer.Configuration
    private let workQueue: DispatchQueue
    private let onClose: (ControlConnection) -> Void
    private var framer: RequestFramer
    /// Frames read and not answered yet; `nextFrame` is the next to answer.
    private var frames: [RequestFramer.Frame] = []
    private var nextFrame = 0
    private var working = false
    private var closeWhenWritten = false
    private var closed = false
    private var timer: LoopTimers.ID?
    private var timerRunsFor = TimerPurpose.nothing

    private enum TimerPurpose {
        case nothing
        case request
        case output
    }

    var loop: EventLoop { channel.loop }

    init(channel: SocketChannel, handler: any ControlRequestHandler, configuration: ControlServer.Configuration,
         workQueue: DispatchQueue, onClose: @escaping (ControlConnection) -> Void) {
        self.channel = channel
        self.handler = handler
        self.configuration = configuration
        self.workQueue = workQueue
        self.onClose = onClose
        framer = handler.makeFramer()
    }

    func start() {
        timer = loop.makeTimer(owner: self)
        channel.delegate = self
        settle()
    }

    // MARK: Channel events

    func channelReadable(_ channel: SocketChannel) {
        let result = channel.read { frames += framer.feed($0) }
        switch result {
        case .bytes:
            answer()
        case .wouldBlock:
            return
        case .closed, .failed:
            // Read only with nothing left to answer: the peer is done.
            close()
        }
    }

    /// All output is with the kernel.
    func channelWritable(_ channel: SocketChannel) {
        timerRunsFor = .nothing
        answer()
    }

    func channelHungUp(_ channel: SocketChannel, error: Bool) {
        // A half-close still wants its answers; reading resumes once they are out and finds
        // the end of the stream.
        if error { close() }
    }

    func timerFired() {
        timerRunsFor = .nothing
        close()
    }

    // MARK: Answering

    private func answer() {
        while !closed, !working, !closeWhenWritten, !channel.hasPendingWrites, nextFrame < frames.count {
            let frame = frames[nextFrame]
            nextFrame += 1
            // A request came: the wait for the next one starts afresh.
            timerRunsFor = .nothing
            let response = handler.respond(to: frame)
            // After a rejected request the framer frames nothing more: answer it and close.
            closeWhenWritten = response.thenClose || (frame == .tooLarge && framer.overflow == .reject)
            switch response.body {
            case .ready(let bytes):
                write(bytes)
            case .work(let produce):
                working = true
                workQueue.async { [self] in
                    let bytes = produce()
                    loop.execute { [self] in workDone(bytes) }
                }
            }
        }
        if nextFrame == frames.count {
            frames.removeAll()
            nextFrame = 0
        }
        settle()
    }

    private func workDone(_ bytes: [UInt8]) {
        guard !closed else { return }
        working = false
        write(bytes)
        answer()
    }

    private func write(_ bytes: [UInt8]) {
        channel.enqueue(bytes[...])
        if channel.flush() == .failed { close() }
    }

    /// Reads only when waiting for a request with nothing owed; arms the timer for what the
    /// connection waits on; closes once a closing answer is out.
    private func settle() {
        guard !closed else { return }
        let outputPending = channel.hasPendingWrites
        if closeWhenWritten, !working, !outputPending {
            close()
            return
        }
        let awaitingRequest = !working && !closeWhenWritten && !outputPending && nextFrame == frames.count
        channel.setReading(awaitingRequest)
        if outputPending {
            arm(.output, after: configuration.writeTimeout)
        } else if awaitingRequest, let idle = configuration.idleTimeout {
            arm(.request, after: idle)
        } else if timerRunsFor != .nothing, let timer {
            loop.cancel(timer)
            timerRunsFor = .nothing
        }
    }

    /// Starts the timer unless it already runs for the same wait (so it is not extended).
    private func arm(_ purpose: TimerPurpose, after delay: Duration) {
        guard timerRunsFor != purpose, let timer else { return }
        timerRunsFor = purpose
        loop.schedule(timer, after: delay)
    }

    /// Closes the socket now; work still running is answered into the void.
    func close() {
        guard !closed else { return }
        closed = true
        if let timer { loop.releaseTimer(timer) }
        channel.close()
        frames = []
        onClose(self)
    }
}
