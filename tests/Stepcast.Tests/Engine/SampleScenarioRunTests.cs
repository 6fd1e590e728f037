using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Domain;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

/// <summary>
/// Plays every shipped sample under fake time and checks what a marketer would: which messages arrive, with
/// what text, at what local time in Tokyo. Expected times are worked out by hand from the sample files.
/// </summary>
[Collection(EngineClusterCollection.Name)]
public sealed class SampleScenarioRunTests(EngineCluster cluster)
{
    private static readonly TimeSpan Jst = TimeSpan.FromHours(9);

    private async Task<string> PublishSampleAsync(string file)
    {
        var parsed = ScenarioParser.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "samples", "scenarios", file)));
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var channel = NewChannel();
        await cluster.PublishAsync(parsed.Scenario! with { ChannelId = channel });
        return channel;
    }

    /// <summary>Moves the clock to a Tokyo wall-clock time on a fresh day, at least a day after now.</summary>
    private DateTimeOffset StartDay()
    {
        var tokyoNow = cluster.Clock.GetUtcNow().ToOffset(Jst);
        return new DateTimeOffset(tokyoNow.Date.AddDays(2), Jst);
    }

    private void SetClock(DateTimeOffset at) => cluster.Clock.SetUtcNow(at);

    /// <summary>
    /// Advances to the friend's next scheduled steps, minute by minute after each, until one is sent. Returns the
    /// delivery stamped with the time the engine scheduled it for; the reminder fires within minutes after.
    /// </summary>
    private async Task<RecordedDelivery> NextSendAsync(string channel, string friendId)
    {
        var friend = cluster.Friend(channel, friendId);
        var sent = cluster.DeliveriesTo(channel, friendId).Count;
        var due = DateTimeOffset.MinValue;
        // A timeout or a quiet-hours deferral may stand between here and the send: follow each due time.
        for (var wake = 0; wake < 5 && cluster.DeliveriesTo(channel, friendId).Count == sent; wake++)
        {
            due = await EarliestDueAsync(friend);
            await cluster.AdvanceAsync(due - cluster.Clock.GetUtcNow(), TimeSpan.FromHours(2));
            for (var minute = 0; minute < 15 && cluster.DeliveriesTo(channel, friendId).Count == sent; minute++)
            {
                await cluster.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
                // The wake-up (a reminder, or a wake slot and its call to the friend) takes real time, which a busy
                // machine stretches: the clock waits for it rather than running past the step's time.
                var moving = DateTime.UtcNow + TimeSpan.FromSeconds(2);
                while (DateTime.UtcNow < moving && cluster.DeliveriesTo(channel, friendId).Count == sent && await EarliestDueAsync(friend) == due)
                {
                    await Task.Delay(20);
                }

                if (await EarliestDueAsync(friend) != due)
                {
                    break;
                }
            }
        }

        var deliveries = await cluster.WaitForDeliveriesAsync(channel, friendId, sent + 1);
        Assert.Equal(sent + 1, deliveries.Count);
        var delivery = deliveries[^1];
        AssertClose(TimeSpan.Zero, delivery.SentAt - due, TimeSpan.FromMinutes(15));
        return delivery with { SentAt = due };
    }

    private static async Task<DateTimeOffset> EarliestDueAsync(IFriendGrain friend) =>
        (await friend.GetSnapshot()).Enrollments.Select(e => e.DueAt).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();

    private static string Text(RecordedDelivery delivery, int message = 0) =>
        System.Text.Json.JsonDocument.Parse(delivery.Messages[message].Json).RootElement.GetProperty("text").GetString()!;

    [Fact]
    public async Task Restaurant_sends_welcome_then_second_visit_and_monthly_coupons()
    {
        var channel = await PublishSampleAsync("restaurant-welcome.json");
        var day = StartDay();
        SetClock(day.AddHours(9.5));
        await cluster.Friend(channel, "Uhanako").Follow(new FollowCommand { At = day.AddHours(9.5), DisplayName = "Hanako" });
        var welcome = (await cluster.WaitForDeliveriesAsync(channel, "Uhanako", 1, advanceClock: false))[0];

        var second = await NextSendAsync(channel, "Uhanako");
        var monthly = await NextSendAsync(channel, "Uhanako");

        Assert.Equal(day.AddHours(9.5), welcome.SentAt);
        Assert.StartsWith("Hanakoさん、友だち追加ありがとうございます！", Text(welcome));
        Assert.Contains("sandbox-welcome-free-drink", welcome.Messages[1].Json);
        Assert.Equal(day.AddDays(7).AddHours(11), second.SentAt);
        Assert.Contains("sandbox-second-visit-10off", second.Messages[1].Json);
        Assert.Equal(day.AddDays(37).AddHours(11), monthly.SentAt);
        Assert.Contains("sandbox-seasonal-free-dessert", monthly.Messages[1].Json);
        Assert.Empty((await cluster.Friend(channel, "Uhanako").GetSnapshot()).Enrollments);
    }

    [Fact]
    public async Task Health_food_follow_up_after_a_late_evening_purchase_waits_out_quiet_hours()
    {
        var channel = await PublishSampleAsync("health-food-after-purchase.json");
        var day = StartDay();
        var purchasedAt = day.AddHours(22.5);
        SetClock(purchasedAt);
        await cluster.Friend(channel, "Ukenji").UpdateProfile(new UpdateProfileCommand { DisplayName = "Kenji" });
        await cluster.Friend(channel, "Ukenji").RecordEvent(new FriendEventCommand { At = purchasedAt, Name = "purchased" });
        var thanks = (await cluster.WaitForDeliveriesAsync(channel, "Ukenji", 1, advanceClock: false))[0];

        var reviews = await NextSendAsync(channel, "Ukenji");
        var column = await NextSendAsync(channel, "Ukenji");
        var repeat = await NextSendAsync(channel, "Ukenji");

        Assert.Equal(purchasedAt, thanks.SentAt);
        Assert.Equal(2, thanks.Messages.Length);
        Assert.StartsWith("Kenjiさま", Text(thanks));
        // +7 days lands at 22:30, inside 22:00–08:00, so each step moves to 08:00 and the next counts from there.
        Assert.Equal(day.AddDays(8).AddHours(8), reviews.SentAt);
        Assert.Equal(day.AddDays(15).AddHours(8), column.SentAt);
        Assert.Equal(day.AddDays(22).AddHours(8), repeat.SentAt);
        Assert.Equal(["text", "coupon", "template"], repeat.Messages.Select(m => m.Type!).ToArray());
    }

    [Fact]
    public async Task Seafood_nurture_sends_five_messages_over_two_weeks()
    {
        var channel = await PublishSampleAsync("seafood-nurture.json");
        var day = StartDay();
        var followedAt = day.AddHours(23.5);
        SetClock(followedAt);
        await cluster.Friend(channel, "Uyuki").Follow(new FollowCommand { At = followedAt, DisplayName = "Yuki" });
        var thanks = (await cluster.WaitForDeliveriesAsync(channel, "Uyuki", 1, advanceClock: false))[0];

        var story = await NextSendAsync(channel, "Uyuki");
        var video = await NextSendAsync(channel, "Uyuki");
        var voices = await NextSendAsync(channel, "Uyuki");
        var coupon = await NextSendAsync(channel, "Uyuki");

        Assert.Equal(followedAt, thanks.SentAt);
        Assert.StartsWith("Yukiさん", Text(thanks));
        Assert.Equal(day.AddDays(4).AddHours(8), story.SentAt);       // day 3 23:30 is quiet → 08:00
        Assert.Equal(day.AddDays(8).AddHours(8), video.SentAt);       // +4 days
        Assert.Equal("video", video.Messages[1].Type);
        Assert.Equal(day.AddDays(11).AddHours(8), voices.SentAt);     // +3 days
        Assert.Equal("flex", voices.Messages[0].Type);
        Assert.Contains("Yuki", voices.Messages[0].Json);
        Assert.Equal(day.AddDays(15).AddHours(12), coupon.SentAt);    // 4 calendar days later at 12:00
        Assert.Contains("sandbox-seafood-50off-3days", coupon.Messages[1].Json);
    }

    [Fact]
    public async Task Cart_abandoners_who_buy_get_the_survey_and_the_others_a_daytime_coupon()
    {
        var channel = await PublishSampleAsync("cart-abandonment.json");
        var day = StartDay();
        SetClock(day.AddHours(10));
        await cluster.Friend(channel, "Ubuys").RecordEvent(new FriendEventCommand { At = day.AddHours(10), Name = "cart_abandoned" });
        await cluster.Friend(channel, "Uwaits").RecordEvent(new FriendEventCommand { At = day.AddHours(10), Name = "cart_abandoned" });
        // The reminders go out in the background: let them land before the clock moves on.
        await cluster.WaitForDeliveriesAsync(channel, "Ubuys", 1, advanceClock: false);
        await cluster.WaitForDeliveriesAsync(channel, "Uwaits", 1, advanceClock: false);
        SetClock(day.AddHours(23));
        await cluster.Friend(channel, "Unight").RecordEvent(new FriendEventCommand { At = day.AddHours(23), Name = "cart_abandoned" });
        await cluster.WaitForDeliveriesAsync(channel, "Unight", 1, advanceClock: false);

        SetClock(day.AddDays(1).AddHours(12));
        await cluster.Friend(channel, "Ubuys").RecordEvent(new FriendEventCommand { At = day.AddDays(1).AddHours(12), Name = "purchased" });
        var buyer = await cluster.WaitForDeliveriesAsync(channel, "Ubuys", 2, advanceClock: false);
        var waiter = await NextSendAsync(channel, "Uwaits");
        var night = await NextSendAsync(channel, "Unight");

        Assert.Equal(["reminder", "survey"], StepIds(buyer));
        Assert.Equal(day.AddDays(1).AddHours(12), buyer[1].SentAt);
        Assert.Equal("coupon", waiter.StepId);
        Assert.Equal(day.AddDays(3).AddHours(10), waiter.SentAt);
        Assert.Equal("coupon", night.StepId);
        // The 3-day timeout ends at 23:00, inside quiet hours: the coupon goes at 08:00 the next morning.
        Assert.Equal(day.AddDays(4).AddHours(8), night.SentAt);
    }
}
