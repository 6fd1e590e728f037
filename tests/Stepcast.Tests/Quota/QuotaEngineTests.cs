using Orleans.Core.Internal;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Engine;
using Stepcast.Tests.Infrastructure;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Quota;

/// <summary>The plan quota, policies and frequency caps on the fake-time engine cluster (two silos, sandbox delivery).</summary>
[Collection(EngineClusterCollection.Name)]
public sealed class QuotaEngineTests(EngineCluster cluster)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private IPlanQuotaGrain Quota(string channel) => cluster.Grains.GetGrain<IPlanQuotaGrain>(channel);

    private static QuotaSettings Limit(long messages, QuotaExhaustedPolicy policy = QuotaExhaustedPolicy.Pause) =>
        new() { Plan = LinePlan.Custom, CustomMonthlyLimit = messages, WhenExhausted = policy };

    /// <summary>
    /// Polls the friend until <paramref name="done"/> holds, nudging it now and then with the call a reminder tick
    /// makes, so the test does not depend on when a busy machine's in-memory reminder service fires.
    /// </summary>
    private async Task<FriendSnapshot> WaitForAsync(string channel, string lineUserId, Func<FriendSnapshot, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        for (var round = 1; ; round++)
        {
            var snapshot = await cluster.Friend(channel, lineUserId).GetSnapshot();
            if (done(snapshot))
            {
                return snapshot;
            }

            Assert.True(DateTime.UtcNow < deadline,
                $"{lineUserId} did not reach the expected state within {Patience.TotalSeconds:0} s (fake time {cluster.Clock.GetUtcNow():O}). "
                + $"Runs: {string.Join("; ", snapshot.Enrollments)}. History: {string.Join("; ", snapshot.History.TakeLast(8))}");

            if (round % 20 == 0)
            {
                await cluster.Friend(channel, lineUserId).RunDueSteps();
            }

            await Task.Delay(50);
        }
    }

    private async Task<QuotaStatus> WaitForQuotaAsync(string channel, Func<QuotaStatus, bool> done, Func<Task<string>>? explain = null)
    {
        try
        {
            return await Eventually.UntilAsync(() => Quota(channel).GetStatus(), done, Patience);
        }
        catch (Xunit.Sdk.XunitException exception) when (explain is not null)
        {
            // Both halves: the quota's last status (in the message) and what the friend did.
            Assert.Fail($"Quota of {channel} did not settle. {exception.Message} {await explain()}");
            throw;
        }
    }

    private static bool IsHeld(FriendSnapshot snapshot) => snapshot.Enrollments.Any(r => r.HeldForQuotaSince is not null);

    private async Task FollowAsync(string channel, string lineUserId) =>
        await cluster.Friend(channel, lineUserId).Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });

    private IReadOnlyList<string> RecipientsInOrder(string channel) =>
        [.. cluster.Deliveries.Deliveries.Where(d => d.ChannelId == channel).Select(d => d.LineUserId)];

    [Fact]
    public async Task A_send_held_in_a_spent_month_goes_out_at_midnight_Tokyo_on_the_first()
    {
        var channel = NewChannel();
        await Quota(channel).Configure(Limit(1));
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome")));

        // Ten minutes before the next month starts in Tokyo (at least an hour ahead, so there is room to check).
        var month = PlanMonth.Containing(cluster.Clock.GetUtcNow() + TimeSpan.FromHours(1), "Asia/Tokyo");
        await cluster.AdvanceAsync(month.EndsAt - TimeSpan.FromMinutes(10) - cluster.Clock.GetUtcNow(), TimeSpan.FromHours(6));

        await FollowAsync(channel, "Ufirst");
        await cluster.WaitForDeliveriesAsync(channel, "Ufirst", 1, advanceClock: false);
        await FollowAsync(channel, "Usecond");
        var held = await WaitForAsync(channel, "Usecond", IsHeld);
        Assert.True(IsHeld(held));
        var before = await Quota(channel).GetStatus();
        Assert.Equal(month.Key, before.Month);
        Assert.Equal(1, before.Used);
        Assert.Equal(0, before.Remaining);

        // One second before midnight Tokyo: still November's budget, still held.
        await cluster.AdvanceAsync(month.EndsAt - TimeSpan.FromSeconds(1) - cluster.Clock.GetUtcNow(), TimeSpan.FromMinutes(1));
        await cluster.Friend(channel, "Usecond").RunDueSteps();
        Assert.Empty(cluster.DeliveriesTo(channel, "Usecond"));

        await cluster.AdvanceAsync(TimeSpan.FromSeconds(2));
        var sent = Assert.Single(await cluster.WaitForDeliveriesAsync(channel, "Usecond", 1));
        Assert.True(sent.SentAt >= month.EndsAt, $"sent at {sent.SentAt:O}, before the month ended at {month.EndsAt:O}");
        Assert.Equal(TimeSpan.FromHours(9), TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo").GetUtcOffset(month.EndsAt));
        Assert.Equal(0, month.EndsAt.ToOffset(TimeSpan.FromHours(9)).Hour);

        var after = await WaitForQuotaAsync(channel, s => s.Used == 1 && s.Month != month.Key,
            async () => $"Usecond: {string.Join("; ", (await cluster.Friend(channel, "Usecond").GetSnapshot()).History.TakeLast(8))}");
        Assert.NotEqual(month.Key, after.Month);
        Assert.Equal(1, after.Used);
        Assert.Equal(0, after.Reserved);
    }

    /// <summary>
    /// At a month's start a held friend can wake on its own and send under the reservation the quota grain made for
    /// it, while the quota grain's wake-up call for the same send is still queued at the friend. That late wake-up
    /// must not hand the reservation back: its release could reach the quota grain before the send's own commit,
    /// which would then find nothing to count. Here the commit in flight is played by the test.
    /// </summary>
    [Fact]
    public async Task A_late_wake_up_for_a_send_already_made_leaves_its_budget_to_that_sends_commit()
    {
        var channel = NewChannel();
        await Quota(channel).Configure(Limit(5));
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome")));
        await FollowAsync(channel, "Ulate");
        await cluster.WaitForDeliveriesAsync(channel, "Ulate", 1, advanceClock: false);
        await WaitForQuotaAsync(channel, s => s.Used == 1 && s.Reserved == 0);
        var sent = Assert.Single((await cluster.Friend(channel, "Ulate").GetSnapshot()).History, h => h.Kind == HistoryKind.Sent);
        var retryKey = Assert.NotNull(sent.RetryKey);

        // The reservation the send went out under, its commit not yet arrived.
        Assert.True((await Quota(channel).Reserve(new QuotaRequest { RetryKey = retryKey, Recipients = 1, FriendKey = $"{channel}/Ulate" })).Granted);
        await cluster.Friend(channel, "Ulate").ResumeHeldSend(retryKey);
        await Quota(channel).Commit(retryKey);

        var settled = await WaitForQuotaAsync(channel, s => s.Reserved == 0);
        Assert.Equal(2, settled.Used);
        Assert.Single(cluster.DeliveriesTo(channel, "Ulate"));
    }

    [Fact]
    public async Task Raised_budget_wakes_held_sends_by_priority_then_due_time_and_re_evaluates_each_first()
    {
        var channel = NewChannel();
        await Quota(channel).Configure(Limit(1));
        await cluster.PublishAsync(Define(channel, "nurture", new FollowTrigger(), Send("hello", "Welcome")) with { Priority = SendPriority.Low });
        await cluster.PublishAsync(Define(channel, "orders", new EventTrigger { Name = "purchased" }, Send("thanks", "Order confirmed")) with { Priority = SendPriority.High });

        await FollowAsync(channel, "Ua");
        await cluster.WaitForDeliveriesAsync(channel, "Ua", 1, advanceClock: false);
        foreach (var friend in new[] { "Ub", "Uc", "Ue" })
        {
            await cluster.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            await FollowAsync(channel, friend);
            Assert.True(IsHeld(await WaitForAsync(channel, friend, IsHeld)), $"{friend} was not held");
        }

        // The latest request, but an order confirmation: it goes before the nurture messages held earlier.
        await cluster.Friend(channel, "Ud").RecordEvent(new FriendEventCommand { Name = "purchased", At = cluster.Clock.GetUtcNow() });
        Assert.True(IsHeld(await WaitForAsync(channel, "Ud", IsHeld)));
        // Ue leaves while held: when its turn comes, its send no longer applies.
        await cluster.Friend(channel, "Ue").Unfollow(new UnfollowCommand { At = cluster.Clock.GetUtcNow() });
        Assert.Equal(4, (await Quota(channel).GetStatus()).HeldSends);

        await Quota(channel).Configure(Limit(3));
        await cluster.WaitForDeliveriesAsync(channel, "Ub", 1, advanceClock: false);
        Assert.Equal(["Ua", "Ud", "Ub"], RecipientsInOrder(channel));
        var midway = await WaitForQuotaAsync(channel, s => s.Used == 3);
        Assert.Equal(3, midway.Used);
        Assert.Equal(2, midway.HeldSends);

        await Quota(channel).Configure(Limit(5));
        await cluster.WaitForDeliveriesAsync(channel, "Uc", 1, advanceClock: false);
        var settled = await WaitForQuotaAsync(channel, s => s.HeldSends == 0 && s.Reserved == 0 && s.Used == 4);
        Assert.Equal(["Ua", "Ud", "Ub", "Uc"], RecipientsInOrder(channel));
        Assert.Empty(cluster.DeliveriesTo(channel, "Ue"));
        // Ue's reserved message went back: four used, one left.
        Assert.Equal(4, settled.Used);
        Assert.Equal(0, settled.Reserved);
        Assert.Equal(1, settled.Remaining);

        var resumed = await cluster.Friend(channel, "Uc").GetSnapshot();
        Assert.Contains(resumed.History, h => h.Kind == HistoryKind.Held && h.StepId == "hello");
        Assert.Contains(resumed.History, h => h.Kind == HistoryKind.Sent && h.StepId == "hello");
        Assert.Empty(resumed.Enrollments);
    }

    [Fact]
    public async Task Skip_policy_records_each_unaffordable_step_and_the_scenario_goes_on()
    {
        var channel = NewChannel();
        await Quota(channel).Configure(Limit(1, QuotaExhaustedPolicy.Skip));
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("hello", "Welcome"), WaitDays("wait", 1), Send("second", "A day later"), new TagStep { Id = "done", Add = ["welcomed"] }));

        await FollowAsync(channel, "Upaid");
        await cluster.WaitForDeliveriesAsync(channel, "Upaid", 1, advanceClock: false);
        await FollowAsync(channel, "Uskipped");
        await cluster.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30));

        var skipped = await WaitForAsync(channel, "Uskipped", s => s.Enrollments.IsEmpty);
        Assert.Empty(cluster.DeliveriesTo(channel, "Uskipped"));
        Assert.Equal(["hello", "second"], skipped.History.Where(h => h.Kind == HistoryKind.Skipped).Select(h => h.StepId));
        Assert.All(skipped.History.Where(h => h.Kind == HistoryKind.Skipped), h => Assert.StartsWith("quota:", h.Detail));
        Assert.Contains("welcomed", skipped.Tags);
        var paid = await WaitForAsync(channel, "Upaid", s => s.Enrollments.IsEmpty);
        Assert.Contains(paid.History, h => h.Kind == HistoryKind.Skipped && h.StepId == "second");
        Assert.Equal(0, (await Quota(channel).GetStatus()).HeldSends);
    }

    [Fact]
    public async Task Thresholds_raise_alerts_once_each_as_the_budget_is_spent()
    {
        var channel = NewChannel();
        await Quota(channel).Configure(Limit(5) with { AlertThresholds = [80, 100] });
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome")));

        for (var i = 1; i <= 4; i++)
        {
            await FollowAsync(channel, $"U{i}");
            await cluster.WaitForDeliveriesAsync(channel, $"U{i}", 1, advanceClock: false);
        }

        var at80 = await WaitForQuotaAsync(channel, s => s.Used == 4);
        Assert.Equal([80], at80.Alerts.Select(a => a.ThresholdPercent));
        Assert.Equal(4, Assert.Single(at80.Alerts).Used);

        await FollowAsync(channel, "U5");
        await cluster.WaitForDeliveriesAsync(channel, "U5", 1, advanceClock: false);
        var full = await WaitForQuotaAsync(channel, s => s.Used == 5);
        Assert.Equal([80, 100], full.Alerts.Select(a => a.ThresholdPercent));
        Assert.Equal(0, full.Remaining);
    }

    [Fact]
    public async Task Frequency_cap_defers_a_send_to_the_next_allowed_time_unless_the_scenario_is_exempt()
    {
        var channel = NewChannel();
        var problems = await cluster.Grains.GetGrain<IChannelGrain>(channel).SetFrequencyCaps([new FrequencyCap { Messages = 1, Window = TimeSpan.FromDays(1) }]);
        Assert.Empty(problems);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("hello", "Welcome"), new WaitStep { Id = "wait", Hours = 2 }, Send("tips", "Two hours later")));
        await cluster.PublishAsync(Define(channel, "orders", new EventTrigger { Name = "purchased" }, Send("thanks", "Order confirmed"))
            with { IgnoreFrequencyCap = true });

        await FollowAsync(channel, "Ucapped");
        var first = Assert.Single(await cluster.WaitForDeliveriesAsync(channel, "Ucapped", 1, advanceClock: false));
        await cluster.AdvanceAsync(TimeSpan.FromHours(3), TimeSpan.FromMinutes(30));

        var deferred = await WaitForAsync(channel, "Ucapped", s => s.History.Any(h => h.Kind == HistoryKind.Deferred));
        var entry = Assert.Single(deferred.History, h => h.Kind == HistoryKind.Deferred);
        Assert.Equal("tips", entry.StepId);
        Assert.StartsWith("frequency cap", entry.Detail);
        Assert.Equal(first.SentAt + TimeSpan.FromDays(1), Assert.Single(deferred.Enrollments).DueAt);

        // An order confirmation is exempt: it goes now, cap or not.
        await cluster.Friend(channel, "Ucapped").RecordEvent(new FriendEventCommand { Name = "purchased", At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Ucapped", 2, advanceClock: false);
        Assert.Equal(["hello", "thanks"], StepIds(cluster.DeliveriesTo(channel, "Ucapped")));

        await cluster.AdvanceAsync(TimeSpan.FromDays(1), TimeSpan.FromHours(1));
        var all = await cluster.WaitForDeliveriesAsync(channel, "Ucapped", 3);
        Assert.Equal(["hello", "thanks", "tips"], StepIds(all));
        Assert.True(all[2].SentAt >= first.SentAt + TimeSpan.FromDays(1), $"tips went at {all[2].SentAt:O}, within a day of {first.SentAt:O}");
    }

    [Fact]
    public async Task Invalid_frequency_caps_are_refused_with_the_field_named()
    {
        var channel = NewChannel();
        var problems = await cluster.Grains.GetGrain<IChannelGrain>(channel).SetFrequencyCaps(
            [new FrequencyCap { Messages = 0, Window = TimeSpan.FromDays(1) }, new FrequencyCap { Messages = 3, Window = TimeSpan.Zero }]);

        Assert.Equal(["$.frequencyCaps[0].messages", "$.frequencyCaps[1].window"], problems.Select(p => p.Path));
    }

    [Fact]
    public async Task Sends_in_flight_across_a_quota_grain_deactivation_settle_and_unsettled_ones_time_out_into_used()
    {
        var channel = NewChannel();
        await Quota(channel).Configure(Limit(10));
        var (settledAfter, settledBefore, neverSettled) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = cluster.Clock.GetUtcNow();
        foreach (var (key, recipients) in new[] { (settledAfter, 3), (settledBefore, 2), (neverSettled, 4) })
        {
            Assert.True((await Quota(channel).Reserve(new QuotaRequest { RetryKey = key, Recipients = recipients, DueAt = now })).Granted);
        }

        await Quota(channel).Commit(settledBefore);
        Assert.Equal(2, (await WaitForQuotaAsync(channel, s => s.Used == 2)).Used);

        // A graceful deactivation stores what was settled but not yet written.
        // This grain only: collecting every activation would also drop the test cluster's in-memory reminder table.
        await Quota(channel).AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await Quota(channel).Commit(settledAfter);
        var afterRestart = await WaitForQuotaAsync(channel, s => s.Used == 5);
        Assert.Equal((5, 4, 1), (afterRestart.Used, afterRestart.Reserved, afterRestart.Remaining));

        // A send whose outcome never arrives keeps its budget, then counts as used (an over-count, never an overspend).
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(62), TimeSpan.FromMinutes(10));
        var timedOut = await WaitForQuotaAsync(channel, s => s.Reserved == 0);
        Assert.Equal((9, 0, 1), (timedOut.Used, timedOut.Reserved, timedOut.Remaining));
    }
}
