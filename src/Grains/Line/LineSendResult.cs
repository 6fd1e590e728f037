namespace Stepcast.Grains.Line;

/// <summary>
/// The outcome of one call to LINE. Failures are values, not exceptions, because every failure mode of a send
/// (rate limit, quota, lost response) is an ordinary business event the engine has to schedule around.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LineSendResult
{
    private static readonly LineErrorDetail[] NoDetails = [];
    private static readonly LineSentMessage[] NoSentMessages = [];

    /// <summary>What happened.</summary>
    [Id(0)] public required LineResultKind Kind { get; init; }

    /// <summary>HTTP status code, or null when no response arrived (timeout, network error).</summary>
    [Id(1)] public int? StatusCode { get; init; }

    /// <summary>
    /// <c>x-line-request-id</c> of this response. Narrowcast progress is looked up by it, and LINE support asks for it.
    /// </summary>
    [Id(2)] public string? RequestId { get; init; }

    /// <summary>
    /// <c>x-line-accepted-request-id</c> on a 409: the request id of the earlier attempt that LINE accepted with the same retry key.
    /// </summary>
    [Id(3)] public string? AcceptedRequestId { get; init; }

    /// <summary>The <c>Retry-After</c> delay LINE asked for, when present.</summary>
    [Id(4)] public TimeSpan? RetryAfter { get; init; }

    /// <summary>LINE's error <c>message</c>, when the response carried one.</summary>
    [Id(5)] public string? ErrorMessage { get; init; }

    /// <summary>LINE's error <c>details</c> (which property was wrong and why); empty when none.</summary>
    [Id(6)] public IReadOnlyList<LineErrorDetail> ErrorDetails { get; init; } = NoDetails;

    /// <summary>IDs (and quote tokens) of the messages sent by a push or reply; empty for other operations.</summary>
    [Id(7)] public IReadOnlyList<LineSentMessage> SentMessages { get; init; } = NoSentMessages;

    /// <summary>True when the messages are (or already were) with LINE: nothing is left to do.</summary>
    public bool IsSuccess => Kind is LineResultKind.Accepted or LineResultKind.AlreadyAccepted;

    /// <summary>
    /// True when the same request, with the same retry key, may succeed later. Quota exhaustion is deliberately not
    /// retryable: it lasts until the month (or the plan) changes, which is a channel-level decision.
    /// </summary>
    public bool IsRetryable => Kind is LineResultKind.RateLimited or LineResultKind.ServerError
        or LineResultKind.Timeout or LineResultKind.NetworkError or LineResultKind.NotSent;
}

/// <summary>One entry of LINE's error <c>details</c> array.</summary>
[GenerateSerializer, Immutable]
public sealed record LineErrorDetail([property: Id(0)] string? Message, [property: Id(1)] string? Property);

/// <summary>One entry of the <c>sentMessages</c> array LINE returns for push and reply.</summary>
[GenerateSerializer, Immutable]
public sealed record LineSentMessage([property: Id(0)] string Id, [property: Id(1)] string? QuoteToken);

/// <summary>
/// The outcome of a read (profile, quota, narrowcast progress) or of an operation that returns data (audience upload):
/// the same classification as a send, plus the parsed body when LINE accepted the call.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LineQueryResult<T>(
    [property: Id(0)] LineSendResult Outcome,
    [property: Id(1)] T? Value)
    where T : class
{
    /// <summary>True when LINE answered 2xx and the body was parsed into <see cref="Value"/>.</summary>
    public bool IsSuccess => Outcome.Kind == LineResultKind.Accepted && Value is not null;
}
