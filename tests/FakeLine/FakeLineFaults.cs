namespace Stepcast.FakeLine;

/// <summary>What an injected fault does.</summary>
public enum FakeLineFaultKind
{
    /// <summary>Answer <see cref="FakeLineFault.StatusCode"/> with a LINE-style error body.</summary>
    Status,

    /// <summary>Do not answer for <see cref="FakeLineFault.HangDuration"/> (or until the client gives up), then answer 500.</summary>
    Hang,
}

/// <summary>
/// A failure to inject into the next matching requests (<see cref="Count"/>) or, with <see cref="Probability"/>,
/// into a seeded random share of them until cleared.
/// </summary>
public sealed record FakeLineFault
{
    public FakeLineFaultKind Kind { get; init; } = FakeLineFaultKind.Status;

    /// <summary>Status code of a <see cref="FakeLineFaultKind.Status"/> fault.</summary>
    public int StatusCode { get; init; } = 500;

    /// <summary>
    /// Fail only after the send was recorded (and its retry key consumed): "LINE accepted it but the response was
    /// lost", which a retry with the same key must turn into 409 rather than a second delivery.
    /// </summary>
    public bool AfterRecording { get; init; }

    /// <summary>How long a <see cref="FakeLineFaultKind.Hang"/> fault holds the request.</summary>
    public TimeSpan HangDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Only requests to this endpoint (<c>push</c>, <c>multicast</c>, <c>reply</c>, <c>broadcast</c>, <c>narrowcast</c>,
    /// <c>profile</c>, <c>quota</c>, <c>consumption</c>, <c>progress</c>, <c>audience</c>); null for all.</summary>
    public string? Endpoint { get; init; }

    /// <summary>How many matching requests fail (ignored when <see cref="Probability"/> is set).</summary>
    public int Count { get; init; } = 1;

    /// <summary>When above 0, each matching request fails with this probability, until the faults are cleared.</summary>
    public double Probability { get; init; }

    /// <summary>Seed of the random source for <see cref="Probability"/>, so a failing load run can be replayed.</summary>
    public int Seed { get; init; }
}

/// <summary>
/// Faults waiting to be injected. The request path reads an immutable array snapshot and, when it is empty (the
/// normal case), does nothing else.
/// </summary>
public sealed class FakeLineFaultInjector
{
    private readonly Lock _gate = new();
    private volatile ActiveFault[] _faults = [];

    /// <summary>Queues a fault. Faults are tried in the order they were added.</summary>
    public void Add(FakeLineFault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_gate)
        {
            _faults = [.. _faults, new ActiveFault(fault)];
        }
    }

    /// <summary>Removes every fault.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _faults = [];
        }
    }

    internal FakeLineFault? Next(string endpoint, bool afterRecording)
    {
        var faults = _faults;
        if (faults.Length == 0)
        {
            return null;
        }

        foreach (var active in faults)
        {
            var fault = active.Fault;
            if (fault.AfterRecording != afterRecording || (fault.Endpoint is not null && fault.Endpoint != endpoint))
            {
                continue;
            }

            if (active.TryConsume())
            {
                return fault;
            }
        }

        return null;
    }

    private sealed class ActiveFault(FakeLineFault fault)
    {
        private readonly Random? _random = fault.Probability > 0 ? new Random(fault.Seed) : null;
        private int _remaining = fault.Count;

        public FakeLineFault Fault { get; } = fault;

        public bool TryConsume()
        {
            if (_random is not null)
            {
                lock (_random)
                {
                    return _random.NextDouble() < Fault.Probability;
                }
            }

            // Exhausted faults stay in the array; they are cheap to skip and Clear() removes them.
            return Volatile.Read(ref _remaining) > 0 && Interlocked.Decrement(ref _remaining) >= 0;
        }
    }
}
