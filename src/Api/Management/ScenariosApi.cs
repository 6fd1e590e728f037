using Microsoft.AspNetCore.Http.HttpResults;
using ValidationProblem = Microsoft.AspNetCore.Http.HttpResults.ValidationProblem;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Scenarios;
using Stepcast.Grains.TestDelivery;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// A channel's scenarios: drafts in the JSON shape of docs/scenarios.md, validated with every problem named by its
/// JSON path, and their life cycle (publish, pause, resume, archive), versions and test deliveries.
/// </summary>
public static class ScenariosApi
{
    public sealed record ScenarioResponse(
        string ChannelId, string ScenarioId, string Status, int CurrentVersion, ScenarioVersionResponse[] Versions, ScenarioDefinition? Draft);

    public sealed record ScenarioListItem(string ScenarioId, string? Title, string Status, int CurrentVersion);

    public sealed record ScenarioVersionResponse(int Version, DateTimeOffset PublishedAt);

    public sealed record ValidationResponse(bool Valid, Stepcast.Grains.Scenarios.ValidationProblem[] Problems);

    /// <param name="LineUserIds">The test friends (1–20), e.g. the staff's own LINE accounts.</param>
    /// <param name="Version">A published version to play; leave out to play the draft.</param>
    public sealed record TestDeliveryRequest(string[]? LineUserIds, int? Version);

    public sealed record TestSendResponse(string LineUserId, string StepId, string Status, string? Detail);

    public sealed record TestDeliveryResponse(string ScenarioId, int Version, TestSendResponse[] Sends);

    private const int MaxTestFriends = 20;

    public static IEndpointRouteBuilder MapScenariosApi(this IEndpointRouteBuilder app)
    {
        var scenarios = app.MapChannelResource("/scenarios", "Scenarios");
        scenarios.MapGet("", List).WithName("ListScenarios").WithSummary("The channel's scenarios, a page at a time").RequireScope(ApiScopes.Read);
        scenarios.MapPost("", Create).WithName("CreateScenario").WithSummary("Creates a scenario from a draft").RequireScope(ApiScopes.Write)
            .Accepts<ScenarioDefinition>("application/json").Produces<ScenarioResponse>(StatusCodes.Status201Created);
        scenarios.MapPost("/validate", Validate).WithName("ValidateScenario").WithSummary("Validates a draft without saving it")
            .RequireScope(ApiScopes.Write).Accepts<ScenarioDefinition>("application/json");
        scenarios.MapGet("/{scenarioId}", Get).WithName("GetScenario").WithSummary("A scenario: status, versions and draft")
            .RequireScope(ApiScopes.Read).Produces<ScenarioResponse>();
        scenarios.MapPut("/{scenarioId}", UpdateDraft).WithName("UpdateScenarioDraft").WithSummary("Replaces a scenario's draft")
            .RequireScope(ApiScopes.Write).Accepts<ScenarioDefinition>("application/json").Produces<ScenarioResponse>();
        scenarios.MapPost("/{scenarioId}/publish", Publish).WithName("PublishScenario").WithSummary("Publishes the draft as a new version")
            .RequireScope(ApiScopes.Write).Produces<ScenarioResponse>();
        scenarios.MapPost("/{scenarioId}/pause", (string channelId, string scenarioId, IGrainFactory grains) =>
                MoveAsync(grains, channelId, scenarioId, s => s.Pause()))
            .WithName("PauseScenario").WithSummary("Stops new entries and holds runs in progress").RequireScope(ApiScopes.Write).Produces<ScenarioResponse>();
        scenarios.MapPost("/{scenarioId}/resume", (string channelId, string scenarioId, IGrainFactory grains) =>
                MoveAsync(grains, channelId, scenarioId, s => s.Resume()))
            .WithName("ResumeScenario").WithSummary("Resumes a paused scenario").RequireScope(ApiScopes.Write).Produces<ScenarioResponse>();
        scenarios.MapPost("/{scenarioId}/archive", (string channelId, string scenarioId, IGrainFactory grains) =>
                MoveAsync(grains, channelId, scenarioId, s => s.Archive()))
            .WithName("ArchiveScenario").WithSummary("Retires a scenario for good").RequireScope(ApiScopes.Write).Produces<ScenarioResponse>();
        scenarios.MapGet("/{scenarioId}/versions", ListVersions).WithName("ListScenarioVersions").WithSummary("Published versions, a page at a time")
            .RequireScope(ApiScopes.Read);
        scenarios.MapGet("/{scenarioId}/versions/{version:int}", GetVersion).WithName("GetScenarioVersion").WithSummary("One published version")
            .RequireScope(ApiScopes.Read).Produces<ScenarioDefinition>();
        scenarios.MapPost("/{scenarioId}/test-deliveries", PlayTest).WithName("TestDeliverScenario")
            .WithSummary("Test delivery (テスト配信): plays every send step to test friends now")
            .WithDescription("Sends each send step of the draft (or a version), in the order written, to the listed test friends at once: waits, branches and conditions are skipped, messages are marked as test, and the friends' own runs, history and the scenario's statistics are untouched. On a channel with an access token these are real LINE pushes, counted by LINE but not reserved from Stepcast's plan budget.")
            .RequireScope(ApiScopes.Send);
        return app;
    }

    private static async Task<Results<Ok<Page<ScenarioListItem>>, ValidationProblem>> List(
        string channelId, string? cursor, int? limit, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        if (!Pagination.TryRead(cursor, limit, errors, out var after, out var size))
        {
            return errors.ToProblem();
        }

        // Drafts are only in the index; scenarios published by other means (the samples) only in the catalogue.
        var indexed = await grains.GetGrain<IScenarioIndexGrain>(channelId).List();
        var catalogue = await grains.GetGrain<IChannelGrain>(channelId).GetCatalog();
        var ids = indexed.Concat(catalogue.Scenarios.Select(s => s.ScenarioId)).Distinct().Order(StringComparer.Ordinal);
        var page = Pagination.ByKey(ids, id => id, after, size);
        var views = await Task.WhenAll(page.Items.Select(id => Scenario(grains, channelId, id).Get()));
        var items = views.Where(v => v is not null).Select(v => new ScenarioListItem(
            v!.ScenarioId, v.Draft?.Title, Status(v.Status), v.CurrentVersion)).ToList();
        return TypedResults.Ok(new Page<ScenarioListItem>(items, page.NextCursor));
    }

    private static async Task<Results<JsonHttpResult<ScenarioResponse>, ValidationProblem, ProblemHttpResult>> Create(
        string channelId, HttpRequest request, IGrainFactory grains)
    {
        var parsed = await ReadScenarioAsync(request);
        if (!parsed.IsValid)
        {
            return Problems(parsed.Problems);
        }

        var draft = parsed.Scenario!;
        if (draft.ChannelId != channelId)
        {
            return ApiProblems.Invalid("$.channelId", $"Must be '{channelId}', the channel in the URL.");
        }

        var errors = new FieldErrors();
        errors.Identifier("$.id", draft.Id);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var scenario = Scenario(grains, channelId, draft.Id);
        if (await scenario.Get() is not null)
        {
            return ApiProblems.Conflict($"Scenario '{draft.Id}' already exists; update its draft with PUT instead.");
        }

        var problems = await scenario.SaveDraft(draft);
        if (!problems.IsEmpty)
        {
            return Problems(problems);
        }

        await grains.GetGrain<IScenarioIndexGrain>(channelId).Add(draft.Id);
        return Json((await scenario.Get())!, StatusCodes.Status201Created);
    }

    private static async Task<Ok<ValidationResponse>> Validate(string channelId, HttpRequest request)
    {
        var parsed = await ReadScenarioAsync(request);
        var problems = parsed.Problems.ToList();
        if (parsed.Scenario is { } draft && draft.ChannelId != channelId)
        {
            problems.Add(new Stepcast.Grains.Scenarios.ValidationProblem("$.channelId", $"Must be '{channelId}', the channel in the URL."));
        }

        return TypedResults.Ok(new ValidationResponse(problems.Count == 0, [.. problems]));
    }

    private static async Task<Results<JsonHttpResult<ScenarioResponse>, ProblemHttpResult>> Get(string channelId, string scenarioId, IGrainFactory grains) =>
        await Scenario(grains, channelId, scenarioId).Get() is { } view ? Json(view) : ScenarioNotFound(scenarioId);

    private static async Task<Results<JsonHttpResult<ScenarioResponse>, ValidationProblem, ProblemHttpResult>> UpdateDraft(
        string channelId, string scenarioId, HttpRequest request, IGrainFactory grains)
    {
        var scenario = Scenario(grains, channelId, scenarioId);
        if (await scenario.Get() is null)
        {
            return ScenarioNotFound(scenarioId);
        }

        var parsed = await ReadScenarioAsync(request);
        if (!parsed.IsValid)
        {
            return Problems(parsed.Problems);
        }

        var problems = await scenario.SaveDraft(parsed.Scenario!);
        return problems.IsEmpty ? Json((await scenario.Get())!) : Problems(problems);
    }

    private static async Task<Results<JsonHttpResult<ScenarioResponse>, ValidationProblem, ProblemHttpResult>> Publish(
        string channelId, string scenarioId, IGrainFactory grains)
    {
        var scenario = Scenario(grains, channelId, scenarioId);
        if (await scenario.Get() is null)
        {
            return ScenarioNotFound(scenarioId);
        }

        var result = await scenario.Publish();
        return result.Published ? Json(result.Scenario!) : Problems(result.Problems);
    }

    private static async Task<Results<JsonHttpResult<ScenarioResponse>, ProblemHttpResult>> MoveAsync(
        IGrainFactory grains, string channelId, string scenarioId, Func<IScenarioGrain, Task<ScenarioView>> move)
    {
        var scenario = Scenario(grains, channelId, scenarioId);
        if (await scenario.Get() is null)
        {
            return ScenarioNotFound(scenarioId);
        }

        try
        {
            return Json(await move(scenario));
        }
        catch (InvalidScenarioTransitionException e)
        {
            return ApiProblems.Conflict(e.Message);
        }
    }

    private static async Task<Results<Ok<Page<ScenarioVersionResponse>>, ValidationProblem, ProblemHttpResult>> ListVersions(
        string channelId, string scenarioId, string? cursor, int? limit, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        if (!Pagination.TryRead(cursor, limit, errors, out var after, out var size))
        {
            return errors.ToProblem();
        }

        if (await Scenario(grains, channelId, scenarioId).Get() is not { } view)
        {
            return ScenarioNotFound(scenarioId);
        }

        var from = after is not null && int.TryParse(after, out var last) ? last : 0;
        var items = view.Versions.Where(v => v.Version > from).Take(size + 1)
            .Select(v => new ScenarioVersionResponse(v.Version, v.PublishedAt)).ToList();
        return TypedResults.Ok(Pagination.Cut(items, size, v => Pagination.Encode(v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    private static async Task<Results<JsonHttpResult<ScenarioDefinition>, ProblemHttpResult>> GetVersion(
        string channelId, string scenarioId, int version, IGrainFactory grains) =>
        await Scenario(grains, channelId, scenarioId).GetVersion(version) is { } definition
            ? TypedResults.Json(definition, ScenarioJson.Options)
            : ApiProblems.NotFound($"Scenario '{scenarioId}' has no published version {version}.");

    private static async Task<Results<Ok<TestDeliveryResponse>, ValidationProblem, ProblemHttpResult>> PlayTest(
        string channelId, string scenarioId, TestDeliveryRequest body, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        if (body.LineUserIds is not { Length: > 0 and <= MaxTestFriends })
        {
            errors.Add("lineUserIds", $"'lineUserIds' must list 1 to {MaxTestFriends} test friends.");
        }
        else
        {
            for (var i = 0; i < body.LineUserIds.Length; i++)
            {
                errors.Identifier($"lineUserIds[{i}]", body.LineUserIds[i]);
            }
        }

        if (body.Version is < 1)
        {
            errors.Add("version", "'version' is a published version number (1 or more); leave it out to play the draft.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var report = await grains.GetGrain<ITestDeliveryGrain>(channelId).Play(new TestDeliveryCommand
        {
            ScenarioId = scenarioId,
            Version = body.Version ?? 0,
            LineUserIds = [.. body.LineUserIds!.Distinct(StringComparer.Ordinal)],
        });
        if (!report.Found)
        {
            return ApiProblems.NotFound(body.Version is { } v
                ? $"Scenario '{scenarioId}' has no published version {v}."
                : $"Scenario '{scenarioId}' has no draft.");
        }

        return TypedResults.Ok(new TestDeliveryResponse(scenarioId, report.Version, [.. report.Sends.Select(s =>
            new TestSendResponse(s.LineUserId, s.StepId, Camel(s.Status.ToString()), s.Detail))]));
    }

    private static async Task<ScenarioParseResult> ReadScenarioAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var json = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        return string.IsNullOrWhiteSpace(json)
            ? new ScenarioParseResult(null, [new Stepcast.Grains.Scenarios.ValidationProblem("$", "The body must be a scenario (docs/scenarios.md).")])
            : ScenarioParser.Parse(json);
    }

    private static ValidationProblem Problems(IEnumerable<Stepcast.Grains.Scenarios.ValidationProblem> problems)
    {
        var errors = new FieldErrors();
        foreach (var problem in problems)
        {
            errors.Add(problem.Path, problem.Message);
        }

        return errors.ToProblem();
    }

    private static JsonHttpResult<ScenarioResponse> Json(ScenarioView view, int status = StatusCodes.Status200OK) =>
        TypedResults.Json(new ScenarioResponse(
            view.ChannelId, view.ScenarioId, Status(view.Status), view.CurrentVersion,
            [.. view.Versions.Select(v => new ScenarioVersionResponse(v.Version, v.PublishedAt))], view.Draft),
            ScenarioJson.Options, statusCode: status);

    private static ProblemHttpResult ScenarioNotFound(string scenarioId) => ApiProblems.NotFound($"There is no scenario '{scenarioId}' in this channel.");

    private static IScenarioGrain Scenario(IGrainFactory grains, string channelId, string scenarioId) =>
        grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channelId, scenarioId));

    private static string Status(ScenarioStatus status) => Camel(status.ToString());

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
