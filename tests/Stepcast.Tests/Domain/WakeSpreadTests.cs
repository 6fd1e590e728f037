using Stepcast.Grains.Friends;

namespace Stepcast.Tests.Domain;

public sealed class WakeSpreadTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void A_cohort_due_at_one_moment_is_woken_across_the_whole_window()
    {
        var offsets = Enumerable.Range(0, 12_000).Select(i => WakeSpread.OffsetFor($"U{i:x32}", Minute)).ToList();

        Assert.All(offsets, offset => Assert.InRange(offset, TimeSpan.Zero, Minute - TimeSpan.FromMilliseconds(1)));
        // Twelve 5-second slices of the minute: each gets its share (1,000) give or take a fifth.
        var perSlice = offsets.GroupBy(offset => (int)(offset.TotalSeconds / 5)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(12, perSlice.Count);
        Assert.All(perSlice.Values, count => Assert.InRange(count, 800, 1_200));
    }

    [Fact]
    public void A_friend_keeps_its_offset_on_every_silo_and_after_restarts()
    {
        // Fixed values: a hash that changed between processes (string.GetHashCode) would move them.
        Assert.Equal(WakeSpread.OffsetFor("U4af4980629", Minute), WakeSpread.OffsetFor("U4af4980629", Minute));
        Assert.NotEqual(WakeSpread.OffsetFor("U4af4980629", Minute), WakeSpread.OffsetFor("U4af4980630", Minute));
        Assert.Equal(TimeSpan.FromMilliseconds(ExpectedFnv1a("U4af4980629") % 60_000), WakeSpread.OffsetFor("U4af4980629", Minute));
    }

    [Fact]
    public void No_spread_fires_at_the_due_time()
    {
        Assert.Equal(TimeSpan.Zero, WakeSpread.OffsetFor("U1", TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, WakeSpread.OffsetFor("U1", TimeSpan.FromTicks(100)));
    }

    /// <summary>FNV-1a written out from its definition, over the UTF-16 code units.</summary>
    private static ulong ExpectedFnv1a(string text)
    {
        ulong hash = 0xcbf29ce484222325;
        foreach (var unit in text)
        {
            hash ^= unit;
            hash *= 0x100000001b3;
        }

        return hash;
    }
}
