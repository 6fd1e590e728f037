using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

[Collection(EngineClusterCollection.Name)]
public sealed class WakeSlotTests(EngineCluster cluster)
{
    [Fact]
    public async Task A_friend_waiting_days_is_listed_in_the_slot_of_its_minute_instead_of_a_reminder_and_gets_the_step_there()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("hello", "Welcome!"), WaitDays("wait", 7), Send("second", "Second visit coupon")));
        var followedAt = WakeSlots.SlotFor(cluster.Clock.GetUtcNow()) + TimeSpan.FromSeconds(17);
        cluster.Clock.SetUtcNow(followedAt);
        var friend = cluster.Friend(channel, "U1");

        await friend.Follow(new FollowCommand { At = followedAt });
        await cluster.WaitForDeliveriesAsync(channel, "U1", 1, advanceClock: false);

        var due = followedAt + TimeSpan.FromDays(7);
        var slot = WakeSlots.SlotFor(due);
        Assert.Equal(due.AddSeconds(43), slot);
        var listing = WakeSlots.Slot(cluster.Grains, new FriendKey(channel, "U1"), slot);
        await WaitUntilAsync(async () => (await listing.List()).Contains("U1") && !await cluster.HasReminderAsync(friend), "listed, with no reminder of its own");

        await cluster.AdvanceAsync(due - cluster.Clock.GetUtcNow() - TimeSpan.FromMinutes(1), TimeSpan.FromHours(6));
        Assert.Single(cluster.DeliveriesTo(channel, "U1"));
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(10));
        var all = await cluster.WaitForDeliveriesAsync(channel, "U1", 2, advanceClock: false);

        Assert.Equal(["hello", "second"], StepIds(all));
        // Never before the due time; within the minute after it, give or take the clock's slices.
        Assert.InRange(all[1].SentAt, due, slot + TimeSpan.FromMinutes(1));
        await WaitUntilAsync(async () => (await listing.List()).IsEmpty, "the slot forgets the friends it woke");
        Assert.Empty((await friend.GetSnapshot()).Enrollments);
    }

    [Fact]
    public async Task A_cohort_due_in_the_same_minute_spreads_over_the_shards_and_each_friend_gets_the_step_once()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "spring", new EventTrigger { Name = "never" }, WaitDays("wait", 3), Send("sale", "Spring sale")));
        var at = cluster.Clock.GetUtcNow();
        // Two pages' worth and more in one shard (so it seals pages), a few in every other. Half the ids in LINE's form
        // (stored as 16 bytes each), half not (stored as text), so pages and listings merge the two.
        var candidates = Enumerable.Range(0, 20_000).Select(i => i % 2 == 0 ? $"U{i:x32}" : $"Ucohort{i}").ToList();
        var ids = candidates.Where(id => ShardOf(id) == 5).Take(2 * WakeSlots.PageSize + 40)
            .Concat(candidates.Where(id => ShardOf(id) != 5).GroupBy(ShardOf).SelectMany(shard => shard.Take(4))).ToList();

        await Task.WhenAll(ids.Select(id => cluster.Friend(channel, id).Enroll(new EnrollCommand { ScenarioId = "spring", At = at })));

        var slot = WakeSlots.SlotFor(at + TimeSpan.FromDays(3));
        var listed = await Task.WhenAll(Enumerable.Range(0, WakeSlots.Shards)
            .Select(shard => cluster.Grains.GetGrain<IWakeSlotGrain>(WakeSlots.KeyOf(channel, slot, shard)).List()));
        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.SelectMany(shard => shard).Order(StringComparer.Ordinal));
        Assert.All(listed, shard => Assert.NotEmpty(shard));

        await cluster.AdvanceAsync(TimeSpan.FromDays(3) + TimeSpan.FromMinutes(2), TimeSpan.FromHours(2));
        foreach (var id in ids)
        {
            await cluster.WaitForDeliveriesAsync(channel, id, 1, advanceClock: false);
        }

        await cluster.AdvanceAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1));
        Assert.All(ids, id => Assert.Equal(["sale"], StepIds(cluster.DeliveriesTo(channel, id))));
    }

    [Fact]
    public async Task A_listing_the_friend_no_longer_needs_wakes_it_to_nothing()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "cart", new EventTrigger { Name = "cart_abandoned" },
            Send("reminder", "You left something in your cart"),
            new WaitForEventStep { Id = "await-purchase", Event = "purchased", Timeout = new Duration { Days = 3 }, OnEvent = "survey", OnTimeout = "coupon" },
            new SendStep { Id = "survey", Messages = [LineMessage.Text("How was it?")], Next = "end" },
            Send("coupon", "10% off if you order today"),
            new ExitStep { Id = "end" }));
        var start = cluster.Clock.GetUtcNow();
        var buyer = cluster.Friend(channel, "Ubuyer");
        var blocker = cluster.Friend(channel, "Ublocker");
        await buyer.RecordEvent(new FriendEventCommand { At = start, Name = "cart_abandoned" });
        await blocker.RecordEvent(new FriendEventCommand { At = start, Name = "cart_abandoned" });
        await cluster.WaitForDeliveriesAsync(channel, "Ubuyer", 1, advanceClock: false);
        await cluster.WaitForDeliveriesAsync(channel, "Ublocker", 1, advanceClock: false);

        // Both are listed for the timeout's minute; then one buys (the survey goes, the run ends) and one blocks.
        await cluster.AdvanceAsync(TimeSpan.FromDays(1));
        await buyer.RecordEvent(new FriendEventCommand { At = cluster.Clock.GetUtcNow(), Name = "purchased" });
        await blocker.Unfollow(new UnfollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Ubuyer", 2, advanceClock: false);
        var slot = WakeSlots.SlotFor(start + TimeSpan.FromDays(3));
        Assert.Contains("Ubuyer", await WakeSlots.Slot(cluster.Grains, new FriendKey(channel, "Ubuyer"), slot).List());

        await cluster.AdvanceAsync(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30));
        await WaitUntilAsync(async () => (await WakeSlots.Slot(cluster.Grains, new FriendKey(channel, "Ubuyer"), slot).List()).IsEmpty,
            "the slot fired and forgot the buyer");

        Assert.Equal(["reminder", "survey"], StepIds(cluster.DeliveriesTo(channel, "Ubuyer")));
        Assert.Equal(["reminder"], StepIds(cluster.DeliveriesTo(channel, "Ublocker")));
    }

    [Fact]
    public async Task A_slot_that_could_not_wake_every_friend_keeps_only_those_it_could_not_for_its_next_tick()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "later", new EventTrigger { Name = "never" }, WaitDays("wait", 1), Send("hello", "Hello")));
        var at = cluster.Clock.GetUtcNow();
        await cluster.Friend(channel, "Ureal").Enroll(new EnrollCommand { ScenarioId = "later", At = at });
        var slot = WakeSlots.Slot(cluster.Grains, new FriendKey(channel, "Ureal"), WakeSlots.SlotFor(at + TimeSpan.FromDays(1)));
        // An id no friend grain can be activated for ("{channel}/" is not a friend key): waking it fails every time.
        await slot.Add("");

        await cluster.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(2), TimeSpan.FromHours(2));
        await cluster.WaitForDeliveriesAsync(channel, "Ureal", 1, advanceClock: false);

        await WaitUntilAsync(async () => (await slot.List()).SequenceEqual([""]), "the slot keeps only the id it could not wake");
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(1));
        Assert.Equal(new[] { "" }, (await slot.List()).ToArray());
        Assert.Single(cluster.DeliveriesTo(channel, "Ureal"));

        // Still failing hours later, it is tried less often (a quarter of its lateness apart), never under a minute
        // apart and never over an hour apart.
        Assert.InRange(await ReminderPeriodAsync(slot) ?? TimeSpan.Zero, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2));
        await cluster.AdvanceAsync(TimeSpan.FromHours(2), TimeSpan.FromMinutes(1));
        await WaitUntilAsync(async () => await ReminderPeriodAsync(slot) > TimeSpan.FromMinutes(20), "tries spaced out after two hours");
        Assert.InRange(await ReminderPeriodAsync(slot) ?? TimeSpan.Zero, TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(35));
        await cluster.AdvanceAsync(TimeSpan.FromDays(1), TimeSpan.FromMinutes(30));
        await WaitUntilAsync(async () => await ReminderPeriodAsync(slot) == TimeSpan.FromHours(1), "tries an hour apart after a day");
        Assert.Equal(new[] { "" }, (await slot.List()).ToArray());
        Assert.Single(cluster.DeliveriesTo(channel, "Ureal"));
    }

    [Fact]
    public async Task A_friend_woken_by_its_slot_a_moment_before_its_step_on_its_own_clock_covers_the_step_itself()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "later", new EventTrigger { Name = "never" }, WaitDays("wait", 1), Send("hello", "Hello")));
        var at = WakeSlots.SlotFor(cluster.Clock.GetUtcNow());
        cluster.Clock.SetUtcNow(at);
        var friend = cluster.Friend(channel, "Uskew");
        await friend.Enroll(new EnrollCommand { ScenarioId = "later", At = at });
        var slot = WakeSlots.SlotFor(at + TimeSpan.FromDays(1));
        Assert.Equal(at + TimeSpan.FromDays(1), slot);

        // The slot's silo says it is time; this one's clock is a second behind. The slot forgets the friend once this
        // call answers, so the friend must not count on it any more.
        cluster.Clock.SetUtcNow(slot - TimeSpan.FromSeconds(1));
        await friend.Wake(slot);

        Assert.True(await cluster.HasReminderAsync(friend), "covered by a reminder of its own");
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(10));
        var deliveries = await cluster.WaitForDeliveriesAsync(channel, "Uskew", 1, advanceClock: false);
        Assert.Equal(["hello"], StepIds(deliveries));
    }

    [Fact]
    public async Task A_slot_halfway_through_waking_its_friends_is_not_collected_as_idle()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "later", new EventTrigger { Name = "never" }, WaitDays("wait", 1), Send("hello", "Hello")));
        var at = WakeSlots.SlotFor(cluster.Clock.GetUtcNow());
        cluster.Clock.SetUtcNow(at);
        await cluster.Friend(channel, "Ubusy").Enroll(new EnrollCommand { ScenarioId = "later", At = at });
        var slot = at + TimeSpan.FromDays(1);
        var listing = WakeSlots.Slot(cluster.Grains, new FriendKey(channel, "Ubusy"), slot);
        Assert.Contains("Ubusy", await listing.List());

        // The friend's write after its send takes seconds, and the slot's pass waits for it: the collection below comes
        // halfway through the pass. Collected then, the slot would leave the friend listed for its next tick.
        cluster.FriendStorageFaults.WriteDelay = TimeSpan.FromSeconds(3);
        try
        {
            cluster.Clock.SetUtcNow(slot);
            await cluster.WaitForDeliveriesAsync(channel, "Ubusy", 1, advanceClock: false, settle: false);
            await cluster.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
            Assert.True(cluster.Cluster.TryGetGrainContext(listing.GetGrainId(), out _), "a slot waking its friends is busy, not idle");
        }
        finally
        {
            cluster.FriendStorageFaults.Clear();
        }

        // The clock stays short of the slot's next tick: only the pass that was running can have forgotten the friend.
        await WaitUntilAsync(async () => (await listing.List()).IsEmpty, "the slot forgets the friend it woke");
        Assert.Equal(["hello"], StepIds(cluster.DeliveriesTo(channel, "Ubusy")));
    }

    private static int ShardOf(string lineUserId) => FriendDirectory.BucketOf(lineUserId) % WakeSlots.Shards;

    private async Task<TimeSpan?> ReminderPeriodAsync(IWakeSlotGrain slot)
    {
        var table = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        return (await table.ReadRows(slot.GetGrainId())).Reminders.SingleOrDefault()?.Period;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not within 20 s: {what}.");
            await Task.Delay(50);
        }
    }
}
