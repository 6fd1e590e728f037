using System.Collections.Immutable;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

[Collection(EngineClusterCollection.Name)]
public sealed class StepKindTests(EngineCluster cluster)
{
    private static ScenarioDefinition CartAbandonment(string channel) => Define(channel, "cart", new EventTrigger { Name = "cart_abandoned" },
        Send("reminder", "You left something in your cart"),
        new WaitForEventStep { Id = "await-purchase", Event = "purchased", Timeout = new Duration { Days = 3 }, OnEvent = "survey", OnTimeout = "coupon" },
        new SendStep { Id = "survey", Messages = [LineMessage.Text("How was it?")], Next = "end" },
        Send("coupon", "10% off if you order today"),
        new ExitStep { Id = "end" });

    [Fact]
    public async Task Wait_for_event_takes_the_event_path_as_soon_as_the_event_arrives()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(CartAbandonment(channel));
        var friend = cluster.Friend(channel, "Ubuyer");
        await friend.RecordEvent(new FriendEventCommand { At = cluster.Clock.GetUtcNow(), Name = "cart_abandoned" });
        await cluster.WaitForDeliveriesAsync(channel, "Ubuyer", 1);

        await cluster.AdvanceAsync(TimeSpan.FromDays(1));
        await friend.RecordEvent(new FriendEventCommand { At = cluster.Clock.GetUtcNow(), Name = "purchased" });
        var deliveries = await cluster.WaitForDeliveriesAsync(channel, "Ubuyer", 2, advanceClock: false);

        await cluster.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Equal(["reminder", "survey"], StepIds(cluster.DeliveriesTo(channel, "Ubuyer")));
        Assert.Empty((await friend.GetSnapshot()).Enrollments);
        AssertClose(TimeSpan.FromDays(1), deliveries[1].SentAt - deliveries[0].SentAt, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Wait_for_event_takes_the_timeout_path_when_the_event_never_comes()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(CartAbandonment(channel));
        var friend = cluster.Friend(channel, "Ubrowser");
        var start = cluster.Clock.GetUtcNow();
        await friend.RecordEvent(new FriendEventCommand { At = start, Name = "cart_abandoned" });
        await cluster.WaitForDeliveriesAsync(channel, "Ubrowser", 1);

        // The timeout is on the schedule, and nothing goes before it (not the fire time of its reminder, which depends
        // on how busy the machine is while the test moves the clock).
        var waiting = Assert.Single((await friend.GetSnapshot()).Enrollments);
        Assert.Equal(("await-purchase", "purchased", start + TimeSpan.FromDays(3)), (waiting.StepId, waiting.AwaitedEvent, waiting.DueAt));
        await cluster.AdvanceAsync(TimeSpan.FromDays(3) - TimeSpan.FromHours(1) - (cluster.Clock.GetUtcNow() - start));
        Assert.Equal(["reminder"], StepIds(cluster.DeliveriesTo(channel, "Ubrowser")));

        await cluster.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5));
        var deliveries = await cluster.WaitForDeliveriesAsync(channel, "Ubrowser", 2);
        Assert.Equal(["reminder", "coupon"], StepIds(deliveries));
        Assert.True(deliveries[1].SentAt >= start + TimeSpan.FromDays(3), $"sent at {deliveries[1].SentAt:O}, before the timeout");
    }

    [Fact]
    public async Task Branch_chooses_by_attribute_tag_event_and_reply_keyword()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "branching", new ApiTrigger(),
            new WaitStep { Id = "settle", Hours = 1 },
            new BranchStep
            {
                Id = "choose",
                Cases =
                [
                    new BranchCase { When = new AttributeCondition { Name = "gender", Value = "female" }, Goto = "for-women" },
                    new BranchCase { When = new TagCondition { Tag = "vip" }, Goto = "for-vip" },
                    new BranchCase { When = new EventCondition { Name = "purchased" }, Goto = "for-buyers" },
                    new BranchCase { When = new KeywordCondition { Keywords = ["yes"] }, Goto = "for-yes" },
                ],
                Otherwise = "for-others",
            },
            new SendStep { Id = "for-women", Messages = [LineMessage.Text("women")], Next = "end" },
            new SendStep { Id = "for-vip", Messages = [LineMessage.Text("vip")], Next = "end" },
            new SendStep { Id = "for-buyers", Messages = [LineMessage.Text("buyers")], Next = "end" },
            new SendStep { Id = "for-yes", Messages = [LineMessage.Text("yes")], Next = "end" },
            Send("for-others", "others"),
            new ExitStep { Id = "end" }));

        var now = cluster.Clock.GetUtcNow();
        await cluster.Friend(channel, "Uwoman").UpdateProfile(new UpdateProfileCommand { SetAttributes = ImmutableDictionary<string, string>.Empty.Add("gender", "female") });
        await cluster.Friend(channel, "Uvip").UpdateProfile(new UpdateProfileCommand { AddTags = ["vip"] });
        foreach (var id in new[] { "Uwoman", "Uvip", "Ubuyer", "Uyes", "Uother" })
        {
            Assert.Equal(EnrollOutcome.Enrolled, (await cluster.Friend(channel, id).Enroll(new EnrollCommand { ScenarioId = "branching", At = now })).Outcome);
        }

        await cluster.Friend(channel, "Ubuyer").RecordEvent(new FriendEventCommand { Name = "purchased", At = now });
        await cluster.Friend(channel, "Uyes").ReceiveText(new TextMessageCommand { Text = " YES ", At = now });
        await cluster.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Equal(["for-women"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Uwoman", 1)));
        Assert.Equal(["for-vip"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Uvip", 1)));
        Assert.Equal(["for-buyers"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Ubuyer", 1)));
        Assert.Equal(["for-yes"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Uyes", 1)));
        Assert.Equal(["for-others"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Uother", 1)));
    }

    [Fact]
    public async Task Split_sends_each_friend_exactly_one_variant_and_holds_out_the_control_group()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "ab", new ApiTrigger(),
            new SplitStep
            {
                Id = "split",
                Variants = [new SplitVariant { Name = "A", Percent = 40, Goto = "a" }, new SplitVariant { Name = "B", Percent = 40, Goto = "b" }],
                HoldoutPercent = 20,
            },
            new SendStep { Id = "a", Messages = [LineMessage.Text("variant A")], Next = "end" },
            new SendStep { Id = "b", Messages = [LineMessage.Text("variant B")], Next = "end" },
            new ExitStep { Id = "end" }));

        var friends = Enumerable.Range(0, 60).Select(i => $"Usplit{i}").ToList();
        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Enroll(new EnrollCommand { ScenarioId = "ab", At = cluster.Clock.GetUtcNow() })));
        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).RunDueSteps()));

        var perFriend = friends.ToDictionary(id => id, id => StepIds(cluster.DeliveriesTo(channel, id)));
        Assert.All(perFriend.Values, steps => Assert.True(steps.Length <= 1));
        Assert.Contains(perFriend.Values, steps => steps is ["a"]);
        Assert.Contains(perFriend.Values, steps => steps is ["b"]);
        var heldOut = perFriend.Where(p => p.Value.Length == 0).Select(p => p.Key).ToList();
        Assert.NotEmpty(heldOut);
        var history = (await cluster.Friend(channel, heldOut[0]).GetSnapshot()).History;
        Assert.Contains(history, h => h.Kind == HistoryKind.Holdout);
    }

    [Fact]
    public async Task Tag_step_adds_and_removes_tags_and_a_new_tag_starts_its_scenario()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "vip-welcome", new TagAddedTrigger { Tag = "vip" }, Send("vip-hello", "Welcome to VIP")));
        await cluster.PublishAsync(Define(channel, "tagger", new FollowTrigger(),
            new TagStep { Id = "mark", Add = ["vip"], Remove = ["prospect"] },
            Send("done", "Tagged")));

        var friend = cluster.Friend(channel, "Utagged");
        await friend.UpdateProfile(new UpdateProfileCommand { AddTags = ["prospect"] });
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        var deliveries = await cluster.WaitForDeliveriesAsync(channel, "Utagged", 2);

        Assert.Equal(["done", "vip-hello"], StepIds(deliveries).Order().ToArray());
        Assert.Equal(["vip"], (await friend.GetSnapshot()).Tags.ToArray());
    }

    [Fact]
    public async Task Exit_step_ends_the_run_before_later_steps()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "short", new FollowTrigger(),
            Send("only", "Only this"), new ExitStep { Id = "stop" }, Send("never", "Never sent")));

        var friend = cluster.Friend(channel, "Uexit");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Uexit", 1);
        await friend.RunDueSteps();

        Assert.Equal(["only"], StepIds(cluster.DeliveriesTo(channel, "Uexit")));
        var snapshot = await friend.GetSnapshot();
        Assert.Empty(snapshot.Enrollments);
        Assert.Contains(snapshot.History, h => h.Kind == HistoryKind.Exited);
    }
}
