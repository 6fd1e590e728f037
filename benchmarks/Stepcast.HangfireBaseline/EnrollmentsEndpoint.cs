using Hangfire;

namespace Stepcast.HangfireBaseline;

/// <summary>One push for each friend, all at the same time: what a campaign or a "day 3 at 10:00" step becomes here.</summary>
public sealed record EnrollmentsRequest(IReadOnlyList<string> UserIds, DateTimeOffset DueAt, string Text);

/// <summary><c>POST /enrollments</c>: schedules a push job per friend at <see cref="EnrollmentsRequest.DueAt"/>.</summary>
public static class EnrollmentsEndpoint
{
    public static IEndpointRouteBuilder MapEnrollments(this IEndpointRouteBuilder app)
    {
        app.MapPost("/enrollments", (EnrollmentsRequest request, IBackgroundJobClient jobs) =>
        {
            foreach (var userId in request.UserIds)
            {
                jobs.Schedule<LinePushJob>(job => job.SendAsync(userId, 1, request.Text), request.DueAt);
            }

            return Results.Ok(request.UserIds.Count);
        });
        return app;
    }
}
