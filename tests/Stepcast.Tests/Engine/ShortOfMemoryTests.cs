using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

/// <summary>An engine cluster that counts itself short of memory from the first byte (a threshold of 0 %).</summary>
public sealed class ShortOfMemoryEngineCluster() : EngineCluster(new Dictionary<string, string?>
{
    ["Stepcast:Engine:ShortOfMemoryAtLoadPercent"] = "0",
});

[CollectionDefinition(Name)]
public sealed class ShortOfMemoryEngineClusterCollection : ICollectionFixture<ShortOfMemoryEngineCluster>
{
    public const string Name = "Engine cluster short of memory";
}

/// <summary>
/// While a silo is short of memory, friends keep only what their own timer must wake within a retry period: the rest
/// waits in wake slots, out of memory. <see cref="LifecycleTests"/> has the same friends on a silo with room to spare.
/// </summary>
[Collection(ShortOfMemoryEngineClusterCollection.Name)]
public sealed class ShortOfMemoryTests(ShortOfMemoryEngineCluster cluster)
{
    [Fact]
    public async Task A_friend_waiting_minutes_leaves_memory_at_once_waits_in_a_wake_slot_and_gets_the_step_from_it()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("hello", "Welcome!"), WaitMinutes("wait", 5), Send("second", "Five minutes later")));
        var followedAt = WakeSlots.SlotFor(cluster.Clock.GetUtcNow()) + TimeSpan.FromSeconds(17);
        cluster.Clock.SetUtcNow(followedAt);
        var friend = cluster.Friend(channel, "Ushort");

        await friend.Follow(new FollowCommand { At = followedAt });
        await cluster.WaitForDeliveriesAsync(channel, "Ushort", 1, advanceClock: false, settle: false);

        Assert.True(await cluster.LeavesMemoryAsync(friend.GetGrainId(), TimeSpan.FromSeconds(5)), "waiting five minutes short of memory, the friend should leave at once");
        var due = followedAt + TimeSpan.FromMinutes(5);
        var slot = WakeSlots.SlotFor(due);
        var listing = WakeSlots.Slot(cluster.Grains, new FriendKey(channel, "Ushort"), slot);
        Assert.Contains("Ushort", await listing.List());
        Assert.False(await cluster.HasReminderAsync(friend), "the slot covers the step, not a reminder the reminder service would hold in memory");

        // Due, but listed for the next whole minute: nothing goes before it. (The clock stops short of the slot and then
        // jumps to it: a clock still moving in slices while the slot wakes its friends would stamp their sends late.)
        await cluster.AdvanceAsync(slot - cluster.Clock.GetUtcNow() - TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        Assert.Single(cluster.DeliveriesTo(channel, "Ushort"));
        cluster.Clock.SetUtcNow(slot);
        var all = await cluster.WaitForDeliveriesAsync(channel, "Ushort", 2, advanceClock: false);
        Assert.Equal(["hello", "second"], StepIds(all));
        Assert.InRange(all[1].SentAt, due, slot + TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_friend_whose_last_step_a_command_ran_leaves_memory_at_once()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "only", new FollowTrigger(), Send("only", "Welcome")));
        var friend = cluster.Friend(channel, "Uonly");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Uonly", 1, settle: false);

        Assert.True(await cluster.LeavesMemoryAsync(friend.GetGrainId(), TimeSpan.FromSeconds(5)));
        Assert.Equal(["only"], StepIds(cluster.DeliveriesTo(channel, "Uonly")));
    }

    [Fact]
    public async Task A_friend_due_within_a_retry_period_stays_in_memory_for_its_own_timer()
    {
        var channel = NewChannel();
        // A minute is the retry period: the friend's timer wakes it, there is no reminder or slot to leave it to.
        await cluster.PublishAsync(Define(channel, "soon", new FollowTrigger(), WaitMinutes("wait", 1), Send("soon", "A minute on")));
        var friend = cluster.Friend(channel, "Usoon");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });

        Assert.False(await cluster.LeavesMemoryAsync(friend.GetGrainId(), TimeSpan.FromSeconds(2)), "a step a minute away is woken by the friend's own timer");
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5));
        Assert.Equal(["soon"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Usoon", 1, advanceClock: false)));
    }
}
