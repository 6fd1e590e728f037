using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Silo.Operations;

/// <summary>
/// Collecting the young generations while a silo is quiet. Section <c>Stepcast:QuietCollection</c>.
/// </summary>
/// <remarks>
/// A silo that falls quiet stops allocating, so the runtime stops collecting: whatever arrived before the lull (friends
/// enrolled and waiting, activations of the last burst) sits in the young generations with most of their budget spent.
/// The next burst (a cohort due at 10:00) then meets the collection that promotes all of it, a pause of 0.2–0.3 s
/// in a 20,000-friend burst of under half a second (benchmarks/history.md, session 22). Collected during the lull
/// instead, the same pause costs no one a wait, and the burst starts with a whole budget.
/// </remarks>
public sealed class QuietCollectionOptions
{
    public const string SectionName = "Stepcast:QuietCollection";

    public bool Enabled { get; set; } = true;

    /// <summary>How long the process must have stayed under <see cref="QuietBelowCores"/> before collecting.</summary>
    public TimeSpan QuietFor { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The CPU, in cores, under which the process counts as quiet (its timers and metrics never reach it).</summary>
    public double QuietBelowCores { get; set; } = 0.1;

    /// <summary>The least allocated since the runtime's last collection worth a collection of its own.</summary>
    public long MinimumYoungBytes { get; set; } = 32L << 20;

    /// <summary>How often the process's CPU and allocation are read.</summary>
    public TimeSpan SamplePeriod { get; set; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// Decides, from readings of the process's CPU time, bytes allocated and collection count, when a quiet spell has
/// lasted long enough and left enough young bytes behind to collect them now.
/// </summary>
public sealed class QuietSpell(QuietCollectionOptions options)
{
    private TimeSpan? _lastCpu;
    private TimeSpan _quietFor;
    private int _collections = -1;
    private long _allocatedAtCollection;

    /// <summary>One reading, <paramref name="elapsed"/> after the one before; true when a collection is due now.</summary>
    public bool Observe(TimeSpan elapsed, TimeSpan cpu, long allocated, int collections)
    {
        if (collections != _collections)
        {
            // The runtime collected since (or this is the first reading): young bytes count from here.
            _collections = collections;
            _allocatedAtCollection = allocated;
        }

        var busy = _lastCpu is { } last && elapsed > TimeSpan.Zero ? (cpu - last) / elapsed : double.PositiveInfinity;
        _lastCpu = cpu;
        _quietFor = busy < options.QuietBelowCores ? _quietFor + elapsed : TimeSpan.Zero;
        return _quietFor >= options.QuietFor && allocated - _allocatedAtCollection >= options.MinimumYoungBytes;
    }

    /// <summary>After the collection: the spell starts over, and so do the young bytes.</summary>
    public void Collected(TimeSpan cpu, long allocated, int collections)
    {
        _lastCpu = cpu;
        _quietFor = TimeSpan.Zero;
        _collections = collections;
        _allocatedAtCollection = allocated;
    }
}

/// <summary>Runs <see cref="QuietSpell"/> on the process's own readings and collects generations 0 and 1 when it says so.</summary>
internal sealed partial class QuietCollector(
    IOptions<QuietCollectionOptions> options, TimeProvider timeProvider, StepcastMetrics metrics, ILogger<QuietCollector> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        var spell = new QuietSpell(settings);
        using var timer = new PeriodicTimer(settings.SamplePeriod, timeProvider);
        var last = timeProvider.GetTimestamp();
        spell.Observe(TimeSpan.Zero, Environment.CpuUsage.TotalTime, GC.GetTotalAllocatedBytes(), GC.CollectionCount(0));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var now = timeProvider.GetTimestamp();
            var elapsed = timeProvider.GetElapsedTime(last, now);
            last = now;
            if (!spell.Observe(elapsed, Environment.CpuUsage.TotalTime, GC.GetTotalAllocatedBytes(), GC.CollectionCount(0)))
            {
                continue;
            }

            // Generation 1 too: what survives a lull is mostly long-lived (waiting friends), and left in generation 1
            // it would be copied again by the first generation-1 collection of the burst.
            GC.Collect(1, GCCollectionMode.Forced, blocking: true, compacting: false);
            last = timeProvider.GetTimestamp();
            var pause = timeProvider.GetElapsedTime(now, last);
            metrics.QuietCollection(pause);
            LogCollected(logger, pause.TotalMilliseconds);
            spell.Collected(Environment.CpuUsage.TotalTime, GC.GetTotalAllocatedBytes(), GC.CollectionCount(0));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Quiet silo: collected generations 0 and 1 in {PauseMs:0} ms")]
    private static partial void LogCollected(ILogger logger, double pauseMs);
}
