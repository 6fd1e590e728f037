using Microsoft.Extensions.Options;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Grains.Friends;

/// <summary>
/// Whether this process is short of memory: the memory load the runtime measured at its last collection, at or above
/// <see cref="EngineOptions.ShortOfMemoryAtLoadPercent"/> of the memory available to it. Both figures are the runtime's
/// own, so they honour a pod's limit and a heap hard limit alike. While it is short, friends keep in memory only what a
/// timer must wake within a retry period (<c>FriendGrain</c>): a campaign enrolling faster than its cohort comes due
/// then waits in wake slots, 16 bytes a friend, instead of in activations and reminders of ~8 kB each.
/// </summary>
/// <remarks>
/// Read on every friend write, so it is cheap: the runtime's figures are read again only after a collection, and
/// collections follow allocation, which is what makes a silo short in the first place.
/// </remarks>
public sealed class MemoryPressure
{
    private readonly double _threshold;
    private int _collectionsSeen = -1;
    private volatile bool _short;

    public MemoryPressure(IOptions<EngineOptions> options, StepcastMetrics metrics)
    {
        // Not a fraction above 1 for "never": under a heap hard limit the load counts the process's whole working set
        // against the heap's limit, and can pass 100 %.
        var percent = options.Value.ShortOfMemoryAtLoadPercent;
        _threshold = percent > 100 ? double.PositiveInfinity : percent / 100.0;
        metrics.ObserveMemory(() =>
        {
            var isShort = IsShort;
            return (Load, isShort);
        });
    }

    /// <summary>
    /// The memory load as a fraction of what is available, at the runtime's last collection (0 before the first). In a
    /// container, its usage against its limit; under a heap hard limit, the process's working set against that limit,
    /// native memory included, so above 1 before the heap itself is full.
    /// </summary>
    public double Load { get; private set; }

    public bool IsShort
    {
        get
        {
            var collections = GC.CollectionCount(0);
            if (collections != Volatile.Read(ref _collectionsSeen))
            {
                Volatile.Write(ref _collectionsSeen, collections);
                var info = GC.GetGCMemoryInfo();
                Load = info.TotalAvailableMemoryBytes > 0 ? (double)info.MemoryLoadBytes / info.TotalAvailableMemoryBytes : 0;
                _short = Load >= _threshold;
            }

            return _short;
        }
    }
}
