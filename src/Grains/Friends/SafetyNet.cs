using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Grains.Friends;

/// <summary>
/// Grain state whose row keeps, beside its payload, when the grain must be woken if nobody has run it by then: the
/// safety net of a step due now or within a retry period. Not part of the payload, so stores that do not know it
/// ignore it.
/// </summary>
public interface ISafetyNetState
{
    DateTimeOffset? SafetyNetAt { get; }
}

/// <summary>
/// Grain storage that keeps <see cref="ISafetyNetState.SafetyNetAt"/> in its rows and finds the rows overdue. Its
/// presence in a silo's services tells friend grains that a write of their state carries their safety net, so a step
/// due now needs no reminder row written beside it and removed after it (two statements per welcomed follow).
/// </summary>
public interface ISafetyNetStore
{
    /// <summary>Up to <paramref name="limit"/> grains whose stored safety net is at or before <paramref name="now"/>, earliest first.</summary>
    Task<IReadOnlyList<GrainId>> FindOverdueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);
}

/// <summary>Wakes the friends whose safety net in storage is overdue: those a crashed silo was running. One per cluster.</summary>
public interface ISafetyNetSweepGrain : IGrainWithIntegerKey
{
    /// <summary>Wakes up to one batch of overdue friends; the count woken, or 0 when a sweep ran within the last half period.</summary>
    Task<int> Sweep();
}

/// <summary>
/// One sweep at a time for the whole cluster: every silo asks each period (<see cref="SafetyNetSweepService"/>), and the
/// grain skips asks that come within half a period of the last sweep. A friend woken runs what is due and writes its
/// row anew, which moves its safety net a period on or clears it, so it is not found again meanwhile.
/// </summary>
public sealed partial class SafetyNetSweepGrain(
    ISafetyNetStore store,
    TimeProvider timeProvider,
    IOptions<EngineOptions> options,
    StepcastMetrics metrics,
    ILogger<SafetyNetSweepGrain> logger) : Grain, ISafetyNetSweepGrain
{
    /// <summary>Friends woken per sweep; a full batch makes the asking silo sweep again at once.</summary>
    public const int BatchSize = 2_000;

    private const int WakesInFlight = 64;

    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    async Task<int> ISafetyNetSweepGrain.Sweep()
    {
        var now = timeProvider.GetUtcNow();
        if (now - _lastSweep < options.Value.SafetyNetSweepPeriod / 2)
        {
            return 0;
        }

        var overdue = await store.FindOverdueAsync(now, BatchSize, CancellationToken.None);
        var failed = 0;
        // A few dozen at a time, on this activation's context (a grain's calls are made from it).
        foreach (var chunk in overdue.Chunk(WakesInFlight))
        {
            await Task.WhenAll(chunk.Select(async grainId =>
            {
                try
                {
                    await GrainFactory.GetGrain<IFriendGrain>(grainId).RunOverdueSteps();
                }
                catch (Exception exception)
                {
                    // Still overdue in storage: the next sweep tries again. The first failure of a sweep says why.
                    if (++failed == 1)
                    {
                        LogWakeFailed(logger, exception, grainId);
                    }
                }
            }));
        }

        _lastSweep = timeProvider.GetUtcNow();
        if (overdue.Count > 0)
        {
            metrics.SafetyNetWoken(overdue.Count - failed);
            LogSwept(logger, overdue.Count, failed);
        }

        // A full batch asks for another at once, skipping the half-period wait.
        if (overdue.Count == BatchSize)
        {
            _lastSweep = DateTimeOffset.MinValue;
        }

        return overdue.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Safety net: woke {Count} friends overdue in storage ({Failed} failed), as after a silo crash")]
    private static partial void LogSwept(ILogger logger, int count, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Safety net: waking {GrainId} failed")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception, GrainId grainId);
}

/// <summary>
/// Asks the cluster's <see cref="SafetyNetSweepGrain"/> to sweep, every <see cref="EngineOptions.SafetyNetSweepPeriod"/>,
/// from every silo whose friend storage keeps safety nets: as long as one silo lives, the sweep runs, and it needs no
/// reminder of its own.
/// </summary>
public sealed partial class SafetyNetSweepService(
    IGrainFactory grains,
    TimeProvider timeProvider,
    IOptions<EngineOptions> options,
    ILogger<SafetyNetSweepService> logger) : BackgroundService
{
    private const int MaxBatchesPerPeriod = 50;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = options.Value.SafetyNetSweepPeriod;
        using var timer = new PeriodicTimer(period, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var sweeper = grains.GetGrain<ISafetyNetSweepGrain>(0);
                for (var batch = 0; batch < MaxBatchesPerPeriod && await sweeper.Sweep() == SafetyNetSweepGrain.BatchSize; batch++)
                {
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The silo starting or stopping, or storage away: the next period asks again.
                LogSweepFailed(logger, exception);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Safety net: the sweep failed; asking again next period")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
