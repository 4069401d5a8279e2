import NIOCore
import NIOHTTP1

/// Answers a request the HTTP decoder cannot read with a JSON error body, then closes the
/// connection: 431 when its header is too large (above the decoder's limits), 400 otherwise.
///
/// Hummingbird answers such a request with an empty 400; this handler, added to the channel after
/// the HTTP codec, takes the decoder's error first. The answer is written as raw HTTP/1.1 bytes
/// from the response encoder's place in the pipeline, as no request head exists to answer.
/// Only a connection's first request is answered so (the case of a client that opens a connection
/// with a broken or oversized request): once a request has been read, a later error is left to
/// Hummingbird, which may be writing an answer of its own.
final class HTTPParseErrorAnswer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private var answered = false
    private var readSomething = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readSomething = true
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered, !readSomething,
            let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        else {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        let (status, message) =
            error == .headerOverflow
            ? (
                "431 Request Header Fields Too Large",
                "the request's header is too large: send at most 80 KiB of header"
            )
            : ("400 Bad Request", "the request is not valid HTTP/1.1: \(error)")
        let body = #"{"error":"\#(message)"}"# + "\n"
        let text =
            "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
        let channel = context.channel
        encoder.writeAndFlush(NIOAny(channel.allocator.buffer(string: text))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
