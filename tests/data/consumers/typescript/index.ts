// A TypeScript Pulumi program using the clerk-hasura package: Hasura you already run (target `existing`) trusting
// your Clerk instance, with this project's metadata/ applied and the smoke check run. Add the package first:
//   pulumi package add <clerk-hasura checkout>/provider
// (it generates the Node.js SDK into sdks/clerk-hasura and adds it to package.json), set the config, then `pulumi up`.
import * as pulumi from "@pulumi/pulumi";
import * as clerkHasura from "@pulumi/clerk-hasura";

const config = new pulumi.Config();
const backend = new clerkHasura.ClerkHasura("backend", {
    target: "existing",
    metadataDir: config.get("metadataDir") ?? "metadata",
    clerk: {
        publishableKey: config.require("publishableKey"),
        jwksUrl: config.require("jwksUrl"),
        apiUrl: config.get("clerkApiUrl") ?? "https://api.clerk.com",
    },
    hasura: { publicUrl: config.require("hasuraUrl") },
    hasuraAdminSecret: config.requireSecret("hasuraAdminSecret"),
    clerkSecretKey: config.requireSecret("clerkSecretKey"),
});

// What a Next.js app's .env needs, and whether the deploy was proven to work.
export const graphqlUrl = backend.graphqlUrl;
export const appEnv = backend.appEnv;
export const adminSecret = backend.adminSecret;
export const smokePassed = backend.smokeReport.apply(report => report?.passed === true);
