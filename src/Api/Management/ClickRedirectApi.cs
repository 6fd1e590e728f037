using Microsoft.AspNetCore.Http.HttpResults;
using Stepcast.Grains.Clicks;
using Stepcast.Grains.Friends;

namespace Stepcast.Api.Management;

/// <summary>
/// The public end of click tracking: <c>GET /r/{token}</c>, reached by friends from LINE, needs no key. A genuine
/// token records the click with the friend (history and stats) and redirects to the link's original URL.
/// </summary>
public static class ClickRedirectApi
{
    public static IEndpointRouteBuilder MapClickRedirectApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/r/{token}", Follow).WithTags("Clicks").WithName("FollowTrackedLink")
            .WithSummary("Count a click on a tracked link and redirect to where it leads");
        return app;
    }

    private static async Task<Results<RedirectHttpResult, ProblemHttpResult>> Follow(string token, ClickTokens tokens, IGrainFactory grains, TimeProvider clock)
    {
        if (tokens.Read(token) is not { } target)
        {
            return NoSuchLink();
        }

        var url = await grains.GetFriend(target.ChannelId, target.LineUserId).RecordClick(new ClickCommand
        {
            ScenarioId = target.ScenarioId,
            Version = target.Version,
            StepId = target.StepId,
            LinkIndex = target.LinkIndex,
            At = clock.GetUtcNow(),
        });
        return url is null ? NoSuchLink() : TypedResults.Redirect(url);
    }

    private static ProblemHttpResult NoSuchLink() => ApiProblems.NotFound("token", "There is no such link.");
}
