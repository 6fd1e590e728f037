using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Domain;

public sealed class SplitAssignmentTests
{
    private static SplitStep Split(int holdout, params (string Name, int Percent)[] variants) => new()
    {
        Id = "split",
        HoldoutPercent = holdout,
        Variants = [.. variants.Select(v => new SplitVariant { Name = v.Name, Percent = v.Percent, Goto = $"send-{v.Name}" })],
    };

    [Fact]
    public void Bucket_is_stable_for_a_fixed_key()
    {
        // Expected values computed outside .NET (Python hashlib: SHA-256 of "scenario\0step\0friend", first 8 bytes
        // big-endian, mod 100), so a change of runtime or algorithm shows up here.
        Assert.Equal(41, SplitAssignment.BucketOf("sandbox:U4af4980629", "cart-abandonment", "split-offer"));
        Assert.Equal(74, SplitAssignment.BucketOf("friend-1", "s", "x"));
    }

    [Fact]
    public void Bucket_depends_on_the_step_so_splits_are_independent()
    {
        var sameEverywhere = Enumerable.Range(0, 200)
            .Count(i => SplitAssignment.BucketOf($"f{i}", "scenario", "a") == SplitAssignment.BucketOf($"f{i}", "scenario", "b"));

        Assert.True(sameEverywhere < 20);
    }

    [Fact]
    public void Variants_take_buckets_in_order_and_holdout_takes_the_rest()
    {
        var split = Split(50, ("a", 30), ("b", 20));

        Assert.Equal("a", SplitAssignment.Choose(split, 0)?.Name);
        Assert.Equal("a", SplitAssignment.Choose(split, 29)?.Name);
        Assert.Equal("b", SplitAssignment.Choose(split, 30)?.Name);
        Assert.Equal("b", SplitAssignment.Choose(split, 49)?.Name);
        Assert.Null(SplitAssignment.Choose(split, 50));
        Assert.Null(SplitAssignment.Choose(split, 99));
    }

    [Fact]
    public void Distribution_over_many_friends_follows_the_percentages()
    {
        var split = Split(10, ("a", 50), ("b", 25), ("c", 15));
        var counts = new Dictionary<string, int>();
        const int friends = 10_000;

        for (var i = 0; i < friends; i++)
        {
            var bucket = SplitAssignment.BucketOf($"sandbox:U{i:x32}", "seafood-nurture", "split-coupon");
            Assert.InRange(bucket, 0, 99);
            var name = SplitAssignment.Choose(split, bucket)?.Name ?? "holdout";
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }

        Assert.InRange(counts["a"] * 100.0 / friends, 47, 53);
        Assert.InRange(counts["b"] * 100.0 / friends, 22, 28);
        Assert.InRange(counts["c"] * 100.0 / friends, 12, 18);
        Assert.InRange(counts["holdout"] * 100.0 / friends, 7, 13);
    }
}
