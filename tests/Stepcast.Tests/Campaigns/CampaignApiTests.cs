using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stepcast.Grains.Friends;
using Stepcast.Tests.Api;
using static Stepcast.Tests.Campaigns.CampaignHostFactory;

namespace Stepcast.Tests.Campaigns;

/// <summary>Campaigns through HTTP against the embedded host: uploads, segments, idempotency, cancel, listing and validation.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class CampaignApiTests(CampaignHostFactory host) : IClassFixture<CampaignHostFactory>, IAsyncLifetime
{
    private HttpClient _http = null!;

    public async Task InitializeAsync() => _http = await host.ClientAsync();

    public Task DisposeAsync()
    {
        _http.Dispose();
        return Task.CompletedTask;
    }

    private static string Campaigns(string channelId) => $"/api/v1/channels/{channelId}/campaigns";

    private async Task<HttpResponseMessage> UploadAsync(string channelId, HttpContent body, string? idempotencyKey = null, string scenarioId = "spring-sale")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Campaigns(channelId)}?scenarioId={scenarioId}") { Content = body };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await _http.SendAsync(request);
    }

    /// <summary>The campaign, or the 404 problem while it does not exist yet.</summary>
    private async Task<JsonElement> CampaignAsync(string channelId, string campaignId) =>
        await JsonAsync(await _http.GetAsync($"{Campaigns(channelId)}/{campaignId}"));

    private async Task<int> RunsOfAsync(string channelId, string lineUserId, string scenarioId = "spring-sale") =>
        (await host.Grains.GetFriend(channelId, lineUserId).GetSnapshot()).History
            .Count(h => h.Kind == HistoryKind.Entered && h.ScenarioId == scenarioId);

    private static long Progress(JsonElement campaign, string name) => campaign.GetProperty("progress").GetProperty(name).GetInt64();

    private static long SkippedBy(JsonElement campaign, string reason) =>
        campaign.GetProperty("progress").GetProperty("skippedBy").GetProperty(reason).GetInt64();

    [Fact]
    public async Task An_ndjson_upload_enrols_followers_and_counts_every_skip_by_reason()
    {
        var channel = await host.NewChannelAsync("upload");
        await host.PublishAsync(CampaignScenario(channel));
        var followers = await host.FollowersAsync(channel, 3);
        var blocked = (await host.FollowersAsync(channel, 1))[0];
        await host.Grains.GetFriend(channel, blocked).Unfollow(new UnfollowCommand { At = DateTimeOffset.UtcNow });
        var stranger = NewLineUserId();

        var response = await UploadAsync(channel, Ndjson([
            $"\"{followers[0]}\"",
            $"{{\"lineUserId\":\"{followers[1]}\"}}",
            "",
            $"\"{followers[2]}\"",
            $"\"{followers[2]}\"",
            $"\"{blocked}\"",
            $"\"{stranger}\"",
            "\"U123\"",
            "not json at all",
        ]));
        var campaign = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("completed", campaign.GetProperty("status").GetString());
        Assert.Equal(8, Progress(campaign, "accepted"));
        Assert.Equal(3, Progress(campaign, "enrolled"));
        Assert.Equal(5, Progress(campaign, "skipped"));
        Assert.Equal(2, SkippedBy(campaign, "invalidId"));
        Assert.Equal(1, SkippedBy(campaign, "blocked"));
        Assert.Equal(1, SkippedBy(campaign, "notAFriend"));
        Assert.Equal(1, SkippedBy(campaign, "duplicate"));
        Assert.Equal($"/api/v1/channels/{channel}/campaigns/{campaign.GetProperty("id").GetString()}", response.Headers.Location?.OriginalString);
        foreach (var follower in followers)
        {
            Assert.Equal(1, await RunsOfAsync(channel, follower));
        }

        // A stranger's id leaves no friend behind.
        Assert.Equal(FriendStatus.Unknown, (await host.Grains.GetFriend(channel, stranger).GetSnapshot()).Status);
        Assert.Empty((await host.Grains.GetFriend(channel, stranger).GetSnapshot()).History);
    }

    [Fact]
    public async Task A_csv_upload_skips_its_header_and_reads_the_first_column()
    {
        var channel = await host.NewChannelAsync("csv");
        await host.PublishAsync(CampaignScenario(channel));
        var followers = await host.FollowersAsync(channel, 2);

        var csv = $"lineUserId,name\r\n{followers[0]},Hanako\r\n\"{followers[1]}\",Taro\r\nnot-an-id,x\r\n";
        var response = await UploadAsync(channel, new StringContent(csv, Encoding.UTF8, "text/csv"));
        var campaign = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(3, Progress(campaign, "accepted"));
        Assert.Equal(2, Progress(campaign, "enrolled"));
        Assert.Equal(1, SkippedBy(campaign, "invalidId"));
    }

    [Fact]
    public async Task The_same_idempotency_key_is_the_same_campaign_and_never_enrols_twice()
    {
        var channel = await host.NewChannelAsync("idem");
        await host.PublishAsync(CampaignScenario(channel));
        var followers = await host.FollowersAsync(channel, 3);
        var body = followers.Select(id => $"\"{id}\"").ToArray();

        var first = await UploadAsync(channel, Ndjson(body), "spring-2026");
        var second = await UploadAsync(channel, Ndjson(body), "spring-2026");
        var firstCampaign = await JsonAsync(first);
        var secondCampaign = await JsonAsync(second);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(firstCampaign.GetProperty("id").GetString(), secondCampaign.GetProperty("id").GetString());
        Assert.Equal(3, Progress(secondCampaign, "enrolled"));
        Assert.Equal(3, Progress(secondCampaign, "accepted"));
        foreach (var follower in followers)
        {
            Assert.Equal(1, await RunsOfAsync(channel, follower));
        }
    }

    [Fact]
    public async Task A_repeat_racing_the_first_upload_answers_the_same_campaign_while_it_runs()
    {
        var channel = await host.NewChannelAsync("race");
        await host.PublishAsync(CampaignScenario(channel));
        var followers = await host.FollowersAsync(channel, 6);
        var gate = new TaskCompletionSource();
        var firstHalf = string.Concat(followers[..3].Select(id => $"\"{id}\"\n"));
        var secondHalf = string.Concat(followers[3..].Select(id => $"\"{id}\"\n"));

        var uploading = UploadAsync(channel, new GatedContent(firstHalf, secondHalf, gate.Task).Typed(), "race-key");
        var campaignId = Assert.IsType<string>((await EventuallyAsync(
            () => _http.GetFromJsonAsync<JsonElement>(Campaigns(channel)),
            page => page.GetProperty("items").GetArrayLength() > 0)).GetProperty("items")[0].GetProperty("id").GetString());
        var repeat = await UploadAsync(channel, Ndjson(followers.Select(id => $"\"{id}\"")), "race-key");
        var repeated = await JsonAsync(repeat);
        gate.SetResult();
        var first = await uploading;
        var finished = await JsonAsync(first);

        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.Equal(campaignId, repeated.GetProperty("id").GetString());
        Assert.Equal("enrolling", repeated.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("completed", finished.GetProperty("status").GetString());
        Assert.Equal(6, Progress(finished, "enrolled"));
        Assert.Equal(6, Progress(finished, "accepted"));
        foreach (var follower in followers)
        {
            Assert.Equal(1, await RunsOfAsync(channel, follower));
        }
    }

    [Fact]
    public async Task Cancel_stops_an_upload_in_progress_which_shows_its_progress_meanwhile()
    {
        var channel = await host.NewChannelAsync("cancel");
        await host.PublishAsync(CampaignScenario(channel));
        var followers = await host.FollowersAsync(channel, 6);
        var gate = new TaskCompletionSource();
        var firstHalf = string.Concat(followers[..3].Select(id => $"\"{id}\"\n"));
        var secondHalf = string.Concat(followers[3..].Select(id => $"\"{id}\"\n"));

        var uploading = UploadAsync(channel, new GatedContent(firstHalf, secondHalf, gate.Task).Typed(), "cancel-key");
        var page = await EventuallyAsync(
            () => _http.GetFromJsonAsync<JsonElement>(Campaigns(channel)),
            list => list.GetProperty("items").EnumerateArray().Any(c => Progress(c, "enrolled") == 3));
        var campaignId = page.GetProperty("items")[0].GetProperty("id").GetString()!;
        var running = await CampaignAsync(channel, campaignId);
        var cancel = await _http.PostAsync($"{Campaigns(channel)}/{campaignId}/cancel", null);
        var cancelled = await JsonAsync(cancel);
        var upload = await uploading;
        gate.SetResult();
        var finished = await JsonAsync(upload);

        Assert.Equal("enrolling", running.GetProperty("status").GetString());
        Assert.Equal(3, Progress(running, "enrolled"));
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal("cancelled", finished.GetProperty("status").GetString());
        Assert.Equal(3, Progress(finished, "enrolled"));
        foreach (var follower in followers[3..])
        {
            Assert.Equal(0, await RunsOfAsync(channel, follower));
        }

        // Cancelling again changes nothing; a completed campaign cannot be cancelled.
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync($"{Campaigns(channel)}/{campaignId}/cancel", null)).StatusCode);
        var done = await JsonAsync(await UploadAsync(channel, Ndjson([$"\"{followers[0]}\""]), "done-key"));
        var conflict = await _http.PostAsync($"{Campaigns(channel)}/{done.GetProperty("id").GetString()}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.True((await JsonAsync(conflict)).GetProperty("errors").TryGetProperty("campaignId", out _));
    }

    [Fact]
    public async Task An_upload_cut_off_by_the_client_is_resumed_by_a_repeat_without_enrolling_anyone_twice()
    {
        var channel = await host.NewChannelAsync("resume");
        await host.PublishAsync(CampaignScenario(channel));
        var followers = await host.FollowersAsync(channel, 6);
        var firstHalf = string.Concat(followers[..3].Select(id => $"\"{id}\"\n"));
        using var abort = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Campaigns(channel)}?scenarioId=spring-sale")
        {
            Content = new GatedContent(firstHalf, "", Task.Delay(Timeout.Infinite, abort.Token)).Typed(),
        };
        request.Headers.Add("Idempotency-Key", "resume-key");
        var campaignId = Stepcast.Grains.Campaigns.CampaignIds.For(channel, "resume-key");

        var uploading = _http.SendAsync(request, abort.Token);
        await EventuallyAsync(() => CampaignAsync(channel, campaignId), c => c.TryGetProperty("progress", out _) && Progress(c, "enrolled") == 3);
        await abort.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => uploading);
        var interrupted = await EventuallyAsync(() => CampaignAsync(channel, campaignId), c => c.GetProperty("status").GetString() == "interrupted");
        var repeat = await UploadAsync(channel, Ndjson(followers.Select(id => $"\"{id}\"")), "resume-key");
        var resumed = await JsonAsync(repeat);

        Assert.Equal("interrupted", interrupted.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.Equal("completed", resumed.GetProperty("status").GetString());
        Assert.Equal(6, Progress(resumed, "enrolled"));
        Assert.Equal(3, SkippedBy(resumed, "duplicate"));
        foreach (var follower in followers)
        {
            Assert.Equal(1, await RunsOfAsync(channel, follower));
        }
    }

    [Fact]
    public async Task A_segment_campaign_enrols_the_friends_matching_tags_and_attributes()
    {
        var channel = await host.NewChannelAsync("segment");
        await host.PublishAsync(CampaignScenario(channel));
        var friends = await host.FollowersAsync(channel, 6, i => new UpdateProfileCommand
        {
            AddTags = i % 2 == 0 ? ["vip"] : [],
            SetAttributes = System.Collections.Immutable.ImmutableDictionary<string, string>.Empty.Add("area", i < 4 ? "Tokyo" : "Osaka"),
        });

        var response = await _http.PostAsJsonAsync(Campaigns(channel), new
        {
            scenarioId = "spring-sale",
            segment = new
            {
                type = "all",
                conditions = new object[] { new { type = "tag", tag = "vip" }, new { type = "attribute", name = "area", value = "tokyo" } },
            },
        });
        var accepted = await JsonAsync(response);
        var campaignId = accepted.GetProperty("id").GetString()!;
        var campaign = await EventuallyAsync(() => CampaignAsync(channel, campaignId), c => c.GetProperty("status").GetString() == "completed");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("segment", accepted.GetProperty("audience").GetString());
        Assert.Equal("completed", campaign.GetProperty("status").GetString());
        Assert.Equal(6, Progress(campaign, "accepted"));
        Assert.Equal(2, Progress(campaign, "enrolled"));
        Assert.Equal(4, SkippedBy(campaign, "notInSegment"));
        var runs = await Task.WhenAll(friends.Select(id => RunsOfAsync(channel, id)));
        Assert.Equal(new[] { 1, 0, 1, 0, 0, 0 }, runs);
    }

    [Fact]
    public async Task Campaigns_are_listed_a_page_at_a_time_with_a_cursor()
    {
        var channel = await host.NewChannelAsync("list");
        await host.PublishAsync(CampaignScenario(channel));
        var follower = (await host.FollowersAsync(channel, 1))[0];
        var ids = new List<string>();
        foreach (var key in new[] { "a", "b", "c" })
        {
            ids.Add((await JsonAsync(await UploadAsync(channel, Ndjson([$"\"{follower}\""]), key))).GetProperty("id").GetString()!);
        }

        var first = await _http.GetFromJsonAsync<JsonElement>($"{Campaigns(channel)}?limit=2");
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await _http.GetFromJsonAsync<JsonElement>($"{Campaigns(channel)}?limit=2&cursor={cursor}");

        Assert.Equal(ids[..2], first.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToList());
        Assert.Equal(ids[2..], second.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToList());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
    }

    [Theory]
    [InlineData("missing-scenario")]
    [InlineData("unknown-scenario")]
    [InlineData("bad-segment")]
    [InlineData("segment-unknown-property")]
    [InlineData("bad-cursor")]
    [InlineData("bad-limit")]
    [InlineData("bad-following-only")]
    public async Task Invalid_requests_are_problem_details_naming_the_field(string @case)
    {
        var channel = await host.NewChannelAsync("invalid");
        await host.PublishAsync(CampaignScenario(channel));
        var (response, field) = @case switch
        {
            "missing-scenario" => (await _http.PostAsync(Campaigns(channel), Ndjson([NewLineUserId()])), "scenarioId"),
            "unknown-scenario" => (await UploadAsync(channel, Ndjson([NewLineUserId()]), scenarioId: "no-such-scenario"), "scenarioId"),
            "bad-segment" => (await _http.PostAsJsonAsync(Campaigns(channel), new { scenarioId = "spring-sale", segment = new { type = "attribute", name = "age", op = "gt", value = "x" } }), "segment.value"),
            "segment-unknown-property" => (await _http.PostAsJsonAsync(Campaigns(channel), new { scenarioId = "spring-sale", segment = new { type = "tag", tag = "vip", colour = "red" } }), "segment.colour"),
            "bad-cursor" => (await _http.GetAsync($"{Campaigns(channel)}?cursor=nonsense"), "cursor"),
            "bad-limit" => (await _http.GetAsync($"{Campaigns(channel)}?limit=0"), "limit"),
            _ => (await _http.PostAsync($"{Campaigns(channel)}?scenarioId=spring-sale&followingOnly=maybe", Ndjson([NewLineUserId()])), "followingOnly"),
        };
        var problem = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors name {field}: {problem}");
    }

    [Fact]
    public async Task Wrong_media_type_key_reuse_and_unknown_campaigns_are_problem_details_too()
    {
        var channel = await host.NewChannelAsync("problems");
        await host.PublishAsync(CampaignScenario(channel));
        await host.PublishAsync(CampaignScenario(channel, "other-sale"));
        var follower = (await host.FollowersAsync(channel, 1))[0];
        await UploadAsync(channel, Ndjson([$"\"{follower}\""]), "reused");

        var mediaType = await _http.PostAsync($"{Campaigns(channel)}?scenarioId=spring-sale", new StringContent("x", Encoding.UTF8, "text/plain"));
        var reused = await UploadAsync(channel, Ndjson([$"\"{follower}\""]), "reused", scenarioId: "other-sale");
        var unknown = await _http.GetAsync($"{Campaigns(channel)}/no-such-campaign");
        var cancelUnknown = await _http.PostAsync($"{Campaigns(channel)}/no-such-campaign/cancel", null);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, mediaType.StatusCode);
        Assert.True((await JsonAsync(mediaType)).GetProperty("errors").TryGetProperty("Content-Type", out _));
        Assert.Equal(HttpStatusCode.Conflict, reused.StatusCode);
        Assert.True((await JsonAsync(reused)).GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.True((await JsonAsync(unknown)).GetProperty("errors").TryGetProperty("campaignId", out _));
        Assert.Equal(HttpStatusCode.NotFound, cancelUnknown.StatusCode);
    }
}
