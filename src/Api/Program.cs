using Stepcast.Api.Hosting;
using Stepcast.Api.Management;
using Stepcast.Api.Sandbox;
using Stepcast.Api.Webhooks;
using Stepcast.Silo.Operations;

var builder = WebApplication.CreateBuilder(args);
builder.AddStepcastApi();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapGet("/", () => TypedResults.Redirect("/sandbox")).ExcludeFromDescription();
app.MapManagementApi();
app.MapWebhooksApi();
app.MapSandboxApi();
app.MapCampaignsApi();
app.MapStatsApi();
app.MapClickRedirectApi();
app.MapStepcastOperations();
app.Run();

/// <summary>Entry point, visible to the functional tests' WebApplicationFactory.</summary>
public partial class Program;
