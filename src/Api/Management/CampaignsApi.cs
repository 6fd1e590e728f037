using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Campaigns;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Scenarios;
using Stepcast.Grains.Tenants;
using ValidationProblem = Microsoft.AspNetCore.Http.HttpResults.ValidationProblem;

namespace Stepcast.Api.Management;

/// <summary>
/// Campaigns: an API client starts a scenario for an audience, either uploaded (NDJSON or CSV streamed in the request
/// body, enrolled as it is read, answered when done) or a segment of the channel's friends (answered at once, 202,
/// walked in the background). An <c>Idempotency-Key</c> header makes a repeated request the same campaign.
/// </summary>
public static class CampaignsApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    private const int MaxIdempotencyKeyLength = 255;
    private const int MaxJsonBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapCampaignsApi(this IEndpointRouteBuilder app)
    {
        // Only the channel's tenant reaches it (ChannelScope); starting sends messages, cancelling changes the campaign.
        var campaigns = app.MapChannelResource("/campaigns", "Campaigns");
        campaigns.MapPost("/", Start).RequireScope(ApiScopes.Send).WithName("StartCampaign")
            .WithSummary("Start a scenario for an audience: an NDJSON/CSV upload of LINE user ids, or a JSON segment")
            // No Accepts metadata: routing would answer another media type with a bare 415 before the handler could name the header.
            .WithDescription("Body: application/x-ndjson or text/csv with ?scenarioId=…&followingOnly=…, or application/json "
                + "{ scenarioId, segment, followingOnly } (StartSegmentCampaignRequest). Header Idempotency-Key: the same key is the same campaign.");
        campaigns.MapGet("/", List).RequireScope(ApiScopes.Read).WithName("ListCampaigns").WithSummary("The channel's campaigns, oldest first, a page at a time");
        campaigns.MapGet("/{campaignId}", Get).RequireScope(ApiScopes.Read).WithName("GetCampaign").WithSummary("A campaign and its progress");
        campaigns.MapPost("/{campaignId}/cancel", Cancel).RequireScope(ApiScopes.Write).WithName("CancelCampaign").WithSummary("Stop enrolling; runs already started go on");
        return app;
    }

    /// <param name="ScenarioId">The published scenario to start.</param>
    /// <param name="Segment">Which friends: a condition as in a branch step (attribute, tag, event, all, any, not).</param>
    /// <param name="FollowingOnly">Enrol only friends seen following the account (default true).</param>
    public sealed record StartSegmentCampaignRequest(string ScenarioId, JsonElement Segment, bool? FollowingOnly);

    public sealed record CampaignResource(
        string Id, string ChannelId, string ScenarioId, string? IdempotencyKey, string Audience, JsonElement? Segment, bool FollowingOnly,
        string Status, CampaignProgress Progress, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt);

    /// <param name="Accepted">Rows (or segment candidates) processed: enrolled + skipped + failed.</param>
    public sealed record CampaignProgress(long Accepted, long Enrolled, long Skipped, SkipReasons SkippedBy, long Failed);

    public sealed record SkipReasons(
        long InvalidId, long NotAFriend, long Blocked, long AlreadyEnrolled, long NotEligible, long NotInSegment, long Duplicate, long ScenarioNotActive);

    private static async Task<Results<Created<CampaignResource>, Accepted<CampaignResource>, Ok<CampaignResource>, ValidationProblem, ProblemHttpResult>> Start(
        string channelId, HttpRequest request, IGrainFactory grains, IOptions<CampaignOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var idempotencyKey = request.Headers[IdempotencyKeyHeader].ToString();
        if (idempotencyKey.Length > MaxIdempotencyKeyLength || idempotencyKey.Any(char.IsControl))
        {
            return new FieldErrors().Add(IdempotencyKeyHeader, $"An idempotency key is 1 to {MaxIdempotencyKeyLength} printable characters.").ToProblem();
        }

        var mediaType = request.ContentType is { } contentType && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            ? parsed.MediaType.Value?.ToLowerInvariant()
            : null;
        var campaignId = CampaignIds.For(channelId, idempotencyKey.Length == 0 ? null : idempotencyKey);
        CampaignDefinition definition;
        AudienceFormat? upload = mediaType switch
        {
            "application/x-ndjson" or "application/ndjson" => AudienceFormat.Ndjson,
            "text/csv" => AudienceFormat.Csv,
            _ => null,
        };
        if (upload is not null)
        {
            var scenarioId = request.Query["scenarioId"].ToString();
            if (string.IsNullOrWhiteSpace(scenarioId))
            {
                return new FieldErrors().Add("scenarioId", "Name the scenario to start in the query: ?scenarioId=….").ToProblem();
            }

            bool followingOnly = true;
            if (request.Query.TryGetValue("followingOnly", out var text) && !bool.TryParse(text, out followingOnly))
            {
                return new FieldErrors().Add("followingOnly", "followingOnly is true or false.").ToProblem();
            }

            definition = new CampaignDefinition
            {
                ChannelId = channelId, CampaignId = campaignId, ScenarioId = scenarioId, IdempotencyKey = NullIfEmpty(idempotencyKey),
                Audience = AudienceKind.Upload, FollowingOnly = followingOnly,
            };
        }
        else if (mediaType == "application/json")
        {
            var read = await ReadSegmentRequestAsync(request, cancellationToken);
            if (read.Problem is { } problem)
            {
                return problem;
            }

            definition = read.Request! with { ChannelId = channelId, CampaignId = campaignId, IdempotencyKey = NullIfEmpty(idempotencyKey) };
        }
        else
        {
            return ApiProblems.UnsupportedMediaType(
                "Upload an audience as application/x-ndjson or text/csv (with ?scenarioId=…), or send a segment as application/json.");
        }

        if ((await grains.GetGrain<IChannelGrain>(channelId).GetCatalog()).Find(definition.ScenarioId) is not { AdmitsNewEntries: true })
        {
            return new FieldErrors().Add("scenarioId", $"The channel has no published scenario '{definition.ScenarioId}' that admits new entries.").ToProblem();
        }

        var campaign = grains.GetGrain<ICampaignGrain>(CampaignKey.Format(channelId, campaignId));
        var start = await campaign.Start(definition, Guid.NewGuid());
        if (!start.Created && !SameRequest(start.Campaign.Definition, definition))
        {
            return ApiProblems.Conflict(IdempotencyKeyHeader, "This idempotency key was used for a different campaign (scenario or audience).");
        }

        var location = $"/api/v1/channels/{channelId}/campaigns/{campaignId}";
        if (start.UploadId is not { } uploadId)
        {
            var resource = ToResource(start.Campaign);
            return start.Created ? TypedResults.Accepted(location, resource) : TypedResults.Ok(resource);
        }

        var view = await UploadAsync(request, upload!.Value, campaign, definition, uploadId, grains, options.Value, clock);
        return start.Created ? TypedResults.Created(location, ToResource(view)) : TypedResults.Ok(ToResource(view));
    }

    /// <summary>
    /// Streams the body through the enroller while reporting progress every <see cref="CampaignOptions.ProgressInterval"/>;
    /// a cancel (the report answers false) stops reading. A client that goes away leaves the campaign interrupted.
    /// </summary>
    private static async Task<CampaignView> UploadAsync(
        HttpRequest request, AudienceFormat format, ICampaignGrain campaign, CampaignDefinition definition, Guid uploadId,
        IGrainFactory grains, CampaignOptions options, TimeProvider clock)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // Millions of rows are the point; memory is bounded by reading as we go, not by the body's size.
            limit.MaxRequestBodySize = null;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(request.HttpContext.RequestAborted);
        var tally = new CampaignTally();
        var enroller = new AudienceEnroller(grains, definition, clock);
        var enrolling = enroller.EnrollAllAsync(
            AudienceReader.ReadAsync(request.BodyReader, format, stop.Token), Math.Max(1, options.EnrollParallelism), tally, stop.Token);
        while (!enrolling.IsCompleted)
        {
            await Task.WhenAny(enrolling, Task.Delay(options.ProgressInterval, clock));
            if (!enrolling.IsCompleted && !await campaign.ReportUpload(uploadId, tally.TakeDelta()))
            {
                await stop.CancelAsync();
            }
        }

        var completed = false;
        try
        {
            await enrolling;
            completed = true;
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // Cancelled, or the body broke off: the campaign keeps what was done; a repeat with the same key resumes.
        }

        return await campaign.FinishUpload(uploadId, tally.TakeDelta(), completed);
    }

    private static async Task<(CampaignDefinition? Request, ValidationProblem? Problem)> ReadSegmentRequestAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxJsonBodyBytes;
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException exception)
        {
            return (null, new FieldErrors().Add("$", $"The body is not JSON: {exception.Message}").ToProblem());
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, new FieldErrors().Add("$", "The body is a JSON object: { \"scenarioId\": …, \"segment\": … }.").ToProblem());
            }

            var errors = new Dictionary<string, string[]>();
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("scenarioId" or "segment" or "followingOnly"))
                {
                    errors[property.Name] = [$"Unknown property '{property.Name}'."];
                }
            }

            var scenarioId = root.TryGetProperty("scenarioId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
            if (string.IsNullOrWhiteSpace(scenarioId))
            {
                errors["scenarioId"] = ["The scenario to start is required."];
            }

            var followingOnly = true;
            if (root.TryGetProperty("followingOnly", out var following))
            {
                if (following.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    followingOnly = following.GetBoolean();
                }
                else
                {
                    errors["followingOnly"] = ["followingOnly is true or false."];
                }
            }

            Condition? segment = null;
            if (!root.TryGetProperty("segment", out var segmentJson) || segmentJson.ValueKind == JsonValueKind.Null)
            {
                errors["segment"] = ["A segment (a condition on attributes, tags or events) is required; to upload ids, send NDJSON or CSV instead."];
            }
            else
            {
                try
                {
                    segment = segmentJson.Deserialize<Condition>(ScenarioJson.Options);
                    foreach (var problem in ScenarioValidator.ValidateCondition(segment, "segment"))
                    {
                        errors[problem.Path] = [problem.Message];
                    }
                }
                catch (Exception exception) when (exception is JsonException or NotSupportedException)
                {
                    var path = exception is JsonException { Path: { } jsonPath } ? "segment" + jsonPath.TrimStart('$') : "segment";
                    errors[path] = [exception.Message.Split(" Path:", 2)[0]];
                }
            }

            if (errors.Count > 0)
            {
                return (null, TypedResults.ValidationProblem(errors));
            }

            return (new CampaignDefinition
            {
                ChannelId = "", CampaignId = "", ScenarioId = scenarioId!, Audience = AudienceKind.Segment, Segment = segment, FollowingOnly = followingOnly,
            }, null);
        }
    }

    private static async Task<Results<Ok<Page<CampaignResource>>, ValidationProblem>> List(string channelId, string? cursor, int? limit, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        var offset = 0;
        if (Pagination.TryRead(cursor, limit, errors, out var position, out var pageSize)
            && position is not null && !int.TryParse(position, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset))
        {
            errors.Add("cursor", "'cursor' is not a cursor this API returned.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        // Campaigns are only ever appended to the channel's list, so a position in it stays valid.
        var (ids, next) = await grains.GetGrain<ICampaignListGrain>(channelId).Page(offset, pageSize);
        var views = await Task.WhenAll(ids.Select(id => grains.GetGrain<ICampaignGrain>(CampaignKey.Format(channelId, id)).Get()));
        return TypedResults.Ok(new Page<CampaignResource>(
            [.. views.OfType<CampaignView>().Select(ToResource)],
            next is { } after ? Pagination.Encode(after.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null));
    }

    private static async Task<Results<Ok<CampaignResource>, ProblemHttpResult>> Get(string channelId, string campaignId, IGrainFactory grains) =>
        await grains.GetGrain<ICampaignGrain>(CampaignKey.Format(channelId, campaignId)).Get() is { } view
            ? TypedResults.Ok(ToResource(view))
            : ApiProblems.NotFound("campaignId", $"The channel has no campaign '{campaignId}'.");

    private static async Task<Results<Ok<CampaignResource>, ProblemHttpResult>> Cancel(string channelId, string campaignId, IGrainFactory grains)
    {
        var campaign = grains.GetGrain<ICampaignGrain>(CampaignKey.Format(channelId, campaignId));
        if (await campaign.Get() is not { } view)
        {
            return ApiProblems.NotFound("campaignId", $"The channel has no campaign '{campaignId}'.");
        }

        if (view.Status == CampaignStatus.Completed)
        {
            return ApiProblems.Conflict("campaignId", "The campaign has already enrolled its whole audience; there is nothing left to cancel.");
        }

        return TypedResults.Ok(ToResource(await campaign.Cancel()));
    }

    private static bool SameRequest(CampaignDefinition existing, CampaignDefinition requested) =>
        existing.ScenarioId == requested.ScenarioId && existing.Audience == requested.Audience
        && existing.FollowingOnly == requested.FollowingOnly
        && (existing.Segment is null ? requested.Segment is null
            : requested.Segment is not null && JsonSerializer.Serialize(existing.Segment, ScenarioJson.Options) == JsonSerializer.Serialize(requested.Segment, ScenarioJson.Options));

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    private static CampaignResource ToResource(CampaignView view)
    {
        var definition = view.Definition;
        var counts = view.Counts;
        return new CampaignResource(
            definition.CampaignId, definition.ChannelId, definition.ScenarioId, definition.IdempotencyKey,
            definition.Audience == AudienceKind.Upload ? "upload" : "segment",
            definition.Segment is null ? null : JsonSerializer.SerializeToElement(definition.Segment, ScenarioJson.Options),
            definition.FollowingOnly,
            JsonNamingPolicy.CamelCase.ConvertName(view.Status.ToString()),
            new CampaignProgress(counts.Accepted, counts.Enrolled, counts.Skipped,
                new SkipReasons(counts.InvalidId, counts.NotAFriend, counts.Blocked, counts.AlreadyEnrolled, counts.NotEligible,
                    counts.NotInSegment, counts.Duplicate, counts.ScenarioNotActive),
                counts.Failed),
            view.CreatedAt, view.UpdatedAt, view.FinishedAt);
    }
}
