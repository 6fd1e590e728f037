using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

[Collection(EngineClusterCollection.Name)]
public sealed class ScenarioLifecycleTests(EngineCluster cluster)
{
    private IScenarioGrain ScenarioGrain(string channel, string id) =>
        cluster.Grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channel, id));

    [Fact]
    public async Task A_friend_stays_on_the_version_it_entered_on()
    {
        var channel = NewChannel();
        var v1 = Define(channel, "versioned", new FollowTrigger(), Send("hello", "v1 hello"), WaitDays("w", 2), Send("bye", "v1 bye"));
        await cluster.PublishAsync(v1);
        await cluster.Friend(channel, "Uold").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Uold", 1);

        await cluster.PublishAsync(v1 with { Steps = [Send("hello", "v2 hello"), WaitDays("w", 2), Send("bye", "v2 bye")] });
        await cluster.Friend(channel, "Unew").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.AdvanceAsync(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(5));

        var old = await cluster.WaitForDeliveriesAsync(channel, "Uold", 2);
        var fresh = await cluster.WaitForDeliveriesAsync(channel, "Unew", 2);
        Assert.All(old, d => Assert.Equal(1, d.ScenarioVersion));
        Assert.All(fresh, d => Assert.Equal(2, d.ScenarioVersion));
        Assert.Contains("v1 bye", old[1].Messages[0].Json);
        Assert.Equal(2, (await ScenarioGrain(channel, "versioned").Get())!.Versions.Length);
    }

    [Fact]
    public async Task A_paused_scenario_admits_no_one_and_holds_due_steps_until_resumed()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "pausable", new FollowTrigger(), Send("hello", "Hello"), WaitDays("w", 1), Send("later", "Later")));
        await cluster.Friend(channel, "Uinside").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Uinside", 1);

        await ScenarioGrain(channel, "pausable").Pause();
        var late = await cluster.Friend(channel, "Ulatecomer").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.AdvanceAsync(TimeSpan.FromDays(2), TimeSpan.FromHours(2));
        Assert.Empty(late.EnteredScenarios);
        Assert.Single(cluster.DeliveriesTo(channel, "Uinside"));

        await ScenarioGrain(channel, "pausable").Resume();
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1));
        Assert.Equal(["hello", "later"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Uinside", 2)));
    }

    [Fact]
    public async Task Archiving_ends_runs_at_their_next_step()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "retired", new FollowTrigger(), Send("hello", "Hello"), WaitDays("w", 1), Send("later", "Later")));
        var friend = cluster.Friend(channel, "Uretired");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Uretired", 1);

        await ScenarioGrain(channel, "retired").Archive();
        await cluster.AdvanceAsync(TimeSpan.FromDays(2), TimeSpan.FromHours(2));
        await friend.RunDueSteps();

        Assert.Single(cluster.DeliveriesTo(channel, "Uretired"));
        var snapshot = await friend.GetSnapshot();
        Assert.Empty(snapshot.Enrollments);
        Assert.Contains(snapshot.History, h => h.Kind == HistoryKind.Ended);
        await Assert.ThrowsAsync<InvalidScenarioTransitionException>(() => ScenarioGrain(channel, "retired").Resume());
    }

    [Fact]
    public async Task A_keyword_starts_its_scenario_only_on_a_matching_message()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "coupon-keyword", new KeywordTrigger { Keywords = ["クーポン", "coupon"] }, Send("coupon", "Here is your coupon")));
        var friend = cluster.Friend(channel, "Ukeyword");

        Assert.Empty((await friend.ReceiveText(new TextMessageCommand { At = cluster.Clock.GetUtcNow(), Text = "hello" })).EnteredScenarios);
        Assert.Equal(["coupon-keyword"], (await friend.ReceiveText(new TextMessageCommand { At = cluster.Clock.GetUtcNow(), Text = "クーポン" })).EnteredScenarios.ToArray());
        Assert.Equal(["coupon"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Ukeyword", 1)));
    }

    [Fact]
    public async Task Only_triggers_inside_the_validity_period_enter()
    {
        var channel = NewChannel();
        var now = cluster.Clock.GetUtcNow();
        await cluster.PublishAsync(Define(channel, "campaign-week", new FollowTrigger(), Send("hello", "Campaign"))
            with { Validity = new ValidityPeriod { From = now.AddDays(1), Until = now.AddDays(8) } });

        Assert.Empty((await cluster.Friend(channel, "Uearly").Follow(new FollowCommand { At = now })).EnteredScenarios);
        Assert.NotEmpty((await cluster.Friend(channel, "Uinwindow").Follow(new FollowCommand { At = now.AddDays(2) })).EnteredScenarios);
        Assert.Empty((await cluster.Friend(channel, "Ulate").Follow(new FollowCommand { At = now.AddDays(8) })).EnteredScenarios);
    }

    [Fact]
    public async Task Publishing_an_invalid_draft_is_refused_with_the_offending_paths()
    {
        var channel = NewChannel();
        var grain = ScenarioGrain(channel, "mismatch");
        var problems = await grain.SaveDraft(Define("other-channel", "wrong-id", new FollowTrigger(), Send("a", "x")));

        Assert.Contains(problems, p => p.Path == "$.channelId");
        Assert.Contains(problems, p => p.Path == "$.id");
        Assert.False((await grain.Publish()).Published);
    }
}
