// The `users` tag, operation by operation, one named case per status code.
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type TestContext } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';
import { USER_KEYS, type User, type Users } from './helpers/contract.js';

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app, oidc } = ctx;

  t.test('RegisterSelf POST /users:register', async (t) => {
    t.test('201 registers the caller and returns the user', async (t) => {
      const alice = persona('alice');
      const before = Date.now();
      const response = await app.inject({ method: 'POST', url: '/users:register', headers: await ctx.auth(alice) });
      t.equal(response.statusCode, 201, response.body);
      const user = json<User>(response);
      t.same(Object.keys(user).sort(), USER_KEYS);
      t.equal(user.sub, alice.sub);
      t.equal(user.iss, oidc.issuer);
      t.equal(user.email, alice.email);
      t.ok(Date.parse(user.registration_datetime) >= before - 1000);
      const row = await ctx.db.prisma.user.findUnique({ where: { sub_iss: { sub: alice.sub, iss: oidc.issuer } } });
      t.equal(row?.email, alice.email, 'stored');
    });

    t.test('201 with a form-encoded Content-Type and no body (generated clients)', async (t) => {
      const bob = persona('bob');
      const response = await app.inject({
        method: 'POST',
        url: '/users:register',
        headers: { ...(await ctx.auth(bob)), 'content-type': 'application/x-www-form-urlencoded' },
      });
      t.equal(response.statusCode, 201, response.body);
    });

    t.test('201 reads the email from userinfo when the token has none', async (t) => {
      const carol = persona('carol', { email: undefined });
      delete carol.email;
      oidc.setUserinfo(carol.sub, { email: 'carol@userinfo.example.org', email_verified: true });
      const response = await app.inject({ method: 'POST', url: '/users:register', headers: await ctx.auth(carol) });
      t.equal(response.statusCode, 201, response.body);
      t.equal(json<User>(response).email, 'carol@userinfo.example.org');
    });

    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: '/users:register' }), 401);
    });

    t.test('401 with a garbage token', async (t) => {
      const response = await app.inject({ method: 'POST', url: '/users:register', headers: { authorization: 'Bearer not.a.jwt' } });
      const body = assertError(t, response, 401);
      t.notMatch(body.message, /not\.a\.jwt/, 'the token is not echoed');
    });

    t.test('401 with an expired token', async (t) => {
      const token = await oidc.token({ sub: 'expired', email: 'x@example.org' }, { expiresIn: -60 });
      assertError(t, await app.inject({ method: 'POST', url: '/users:register', headers: { authorization: `Bearer ${token}` } }), 401);
    });

    t.test('409 when already registered', async (t) => {
      const dave = persona('dave');
      await ctx.register(dave);
      const response = await app.inject({ method: 'POST', url: '/users:register', headers: await ctx.auth(dave) });
      assertError(t, response, 409);
      t.equal(await ctx.db.prisma.user.count({ where: { sub: dave.sub } }), 1, 'still one row');
    });

    t.test('409 for all but one of 10 concurrent registrations', async (t) => {
      const erin = persona('erin');
      const headers = await ctx.auth(erin);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => app.inject({ method: 'POST', url: '/users:register', headers })),
      );
      const codes = responses.map((r) => r.statusCode).sort();
      t.same(codes, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
      t.equal(await ctx.db.prisma.user.count({ where: { sub: erin.sub } }), 1);
    });

    t.test('422 when no email can be found', async (t) => {
      const nomail = persona('nomail');
      delete nomail.email;
      const response = await app.inject({ method: 'POST', url: '/users:register', headers: await ctx.auth(nomail) });
      const body = assertError(t, response, 422);
      t.match(body.message, /email/i);
      t.equal(await ctx.db.prisma.user.count({ where: { sub: nomail.sub } }), 0, 'nothing stored');
    });
  });

  t.test('GetSelf GET /users/self', async (t) => {
    t.test('200 returns the registered caller', async (t) => {
      const frank = persona('frank');
      await ctx.register(frank);
      const response = await app.inject({ url: '/users/self', headers: await ctx.auth(frank) });
      t.equal(response.statusCode, 200);
      t.match(json<User>(response), { sub: frank.sub, iss: oidc.issuer, email: frank.email });
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/users/self' }), 401);
    });
    t.test('404 when the token holder is not registered', async (t) => {
      assertError(t, await app.inject({ url: '/users/self', headers: await ctx.auth(persona('ghost')) }), 404);
    });
  });

  t.test('UpdateSelf POST /users/self:update', async (t) => {
    t.test('204 stores the email the token now carries', async (t) => {
      const gina = persona('gina');
      await ctx.register(gina);
      const moved = { ...gina, email: 'gina@new.example.org' };
      const response = await app.inject({ method: 'POST', url: '/users/self:update', headers: await ctx.auth(moved) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      const row = await ctx.db.prisma.user.findFirst({ where: { sub: gina.sub } });
      t.equal(row?.email, 'gina@new.example.org');
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: '/users/self:update' }), 401);
    });
    t.test('403 when not registered', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: '/users/self:update', headers: await ctx.auth(persona('unreg')) }), 403);
    });
    t.test('422 when the email is not verified', async (t) => {
      const hank = persona('hank');
      await ctx.register(hank);
      const response = await app.inject({
        method: 'POST',
        url: '/users/self:update',
        headers: await ctx.auth({ ...hank, email: 'other@example.org', email_verified: false }),
      });
      assertError(t, response, 422);
      const row = await ctx.db.prisma.user.findFirst({ where: { sub: hank.sub } });
      t.equal(row?.email, hank.email, 'unchanged');
    });
    t.test('422 when no email can be found', async (t) => {
      const ivy = persona('ivy');
      await ctx.register(ivy);
      const withoutEmail = { ...ivy };
      delete withoutEmail.email;
      assertError(t, await app.inject({ method: 'POST', url: '/users/self:update', headers: await ctx.auth(withoutEmail) }), 422);
    });
  });

  t.test('TryAdmin GET /users/self:try_admin', async (t) => {
    t.test('204 for a registered administrator', async (t) => {
      const root = adminPersona();
      await ctx.register(root);
      const response = await app.inject({ url: '/users/self:try_admin', headers: await ctx.auth(root) });
      t.equal(response.statusCode, 204, response.body);
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/users/self:try_admin' }), 401);
    });
    t.test('403 for a user without the entitlement', async (t) => {
      const jane = persona('jane');
      await ctx.register(jane);
      assertError(t, await app.inject({ url: '/users/self:try_admin', headers: await ctx.auth(jane) }), 403);
    });
    t.test('403 for an administrator who is not registered', async (t) => {
      assertError(t, await app.inject({ url: '/users/self:try_admin', headers: await ctx.auth(adminPersona('unregistered-admin')) }), 403);
    });
    t.test('403 when entitlements are not a list (never a 500)', async (t) => {
      const odd = persona('odd', { eduperson_entitlement: 'not-a-list' });
      await ctx.register(odd);
      assertError(t, await app.inject({ url: '/users/self:try_admin', headers: await ctx.auth(odd) }), 403);
    });
  });

  // A fixed population for the admin lists: its own email domain keeps it apart.
  const domain = `list-${Date.now()}.example.org`;
  const listed = ['kim', 'lea', 'max', 'noa'].map((name) => persona(name, { email: `${name}@${domain}` }));
  const admin = adminPersona('list-admin');
  await ctx.register(admin);
  for (const user of listed) await ctx.register(user);

  t.test('ListUsers GET /users', async (t) => {
    t.test('200 filters by email', async (t) => {
      const response = await app.inject({ url: `/users?email=lea@${domain}`, headers: await ctx.auth(admin) });
      t.equal(response.statusCode, 200, response.body);
      const page = json<Users>(response);
      t.equal(page.total, 1);
      t.equal(page.items[0]?.sub, listed[1]?.sub);
    });
    t.test('200 filters by sub and iss', async (t) => {
      const sub = listed[2]!.sub;
      const response = await app.inject({
        url: `/users?sub=${sub}&iss=${encodeURIComponent(oidc.issuer)}`,
        headers: await ctx.auth(admin),
      });
      t.same(
        json<Users>(response).items.map((u) => u.sub),
        [sub],
      );
    });
    t.test('200 pages through the users with the envelope', async (t) => {
      const all = json<Users>(await app.inject({ url: '/users?per_page=100', headers: await ctx.auth(admin) }));
      t.ok(all.total >= 5);
      const second = json<Users>(await app.inject({ url: '/users?per_page=2&page=2', headers: await ctx.auth(admin) }));
      t.match(second, { page: 2, per_page: 2, total: all.total, pages: Math.ceil(all.total / 2), has_prev: true, prev_num: 1 });
      t.equal(second.items.length, 2);
      t.same(
        second.items.map((u) => u.sub),
        all.items.slice(2, 4).map((u) => u.sub),
        'same order as the full list',
      );
      const past = json<Users>(await app.inject({ url: '/users?per_page=2&page=999', headers: await ctx.auth(admin) }));
      t.same(past.items, []);
      t.equal(past.has_next, false);
      t.equal(past.next_num, null);
    });
    t.test('200 sorts by email both ways', async (t) => {
      const up = json<Users>(await app.inject({ url: `/users?sort_by=%2Bemail&per_page=100`, headers: await ctx.auth(admin) }));
      const emails = up.items.map((u) => u.email);
      t.same(emails, [...emails].sort());
      const down = json<Users>(await app.inject({ url: `/users?sort_by=-email&per_page=100`, headers: await ctx.auth(admin) }));
      t.same(
        down.items.map((u) => u.email),
        [...emails].reverse(),
      );
    });
    t.test('200 sorts by several fields', async (t) => {
      const response = await app.inject({ url: '/users?sort_by=%2Biss,-registration_datetime', headers: await ctx.auth(admin) });
      t.equal(response.statusCode, 200, response.body);
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/users' }), 401);
    });
    t.test('403 for a user', async (t) => {
      assertError(t, await app.inject({ url: '/users', headers: await ctx.auth(listed[0]!) }), 403);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      const body = assertError(t, await app.inject({ url: '/users?colour=blue', headers: await ctx.auth(admin) }), 422);
      t.match(JSON.stringify(body.errors), /colour/);
    });
    t.test('422 for per_page over 100 and page 0', async (t) => {
      assertError(t, await app.inject({ url: '/users?per_page=101', headers: await ctx.auth(admin) }), 422);
      assertError(t, await app.inject({ url: '/users?page=0', headers: await ctx.auth(admin) }), 422);
      assertError(t, await app.inject({ url: '/users?page=abc', headers: await ctx.auth(admin) }), 422);
    });
    t.test('422 for an unknown sort field or a missing sign', async (t) => {
      const unknown = assertError(t, await app.inject({ url: '/users?sort_by=%2Bpassword', headers: await ctx.auth(admin) }), 422);
      t.match(unknown.message, /password/);
      assertError(t, await app.inject({ url: '/users?sort_by=email', headers: await ctx.auth(admin) }), 422);
    });
  });

  t.test('SearchUsers GET /users:search', async (t) => {
    t.test('200 every term must appear in the email', async (t) => {
      const response = await app.inject({ url: `/users:search?terms=${domain}&terms=a@`, headers: await ctx.auth(admin) });
      t.equal(response.statusCode, 200, response.body);
      t.same(
        json<Users>(response)
          .items.map((u) => u.email)
          .sort(),
        [`lea@${domain}`, `noa@${domain}`],
      );
    });
    t.test('200 with the bracket array form', async (t) => {
      const response = await app.inject({ url: `/users:search?terms[]=${domain}&terms[]=noa`, headers: await ctx.auth(admin) });
      t.same(
        json<Users>(response).items.map((u) => u.email),
        [`noa@${domain}`],
      );
    });
    t.test('200 treats % and _ literally', async (t) => {
      const response = await app.inject({ url: `/users:search?terms=${encodeURIComponent('%')}`, headers: await ctx.auth(admin) });
      t.equal(json<Users>(response).total, 0);
      const underscore = await app.inject({ url: `/users:search?terms=k_m`, headers: await ctx.auth(admin) });
      t.equal(json<Users>(underscore).total, 0);
    });
    t.test('200 is case-sensitive', async (t) => {
      const response = await app.inject({ url: `/users:search?terms=KIM`, headers: await ctx.auth(admin) });
      t.equal(json<Users>(response).total, 0);
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/users:search?terms=a' }), 401);
    });
    t.test('403 for a user', async (t) => {
      assertError(t, await app.inject({ url: '/users:search?terms=a', headers: await ctx.auth(listed[0]!) }), 403);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      assertError(t, await app.inject({ url: '/users:search?term=a', headers: await ctx.auth(admin) }), 422);
    });
  });

  t.test('RemoveUsers POST /users:remove', async (t) => {
    t.test('204 removes the matching users and what they uploaded', async (t) => {
      const leaver = persona('leaver');
      await ctx.register(leaver);
      await ctx.db.prisma.site.create({
        data: { name: `site-of-${leaver.sub}`, address: 'here', uploader_sub: leaver.sub, uploader_iss: oidc.issuer },
      });
      const response = await app.inject({
        method: 'POST',
        url: `/users:remove?sub=${leaver.sub}&iss=${encodeURIComponent(oidc.issuer)}`,
        headers: await ctx.auth(admin),
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal(await ctx.db.prisma.user.count({ where: { sub: leaver.sub } }), 0);
      t.equal(await ctx.db.prisma.site.count({ where: { uploader_sub: leaver.sub } }), 0, 'uploads removed too');
      t.equal(await ctx.db.prisma.user.count({ where: { sub: admin.sub } }), 1, 'nobody else');
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: '/users:remove?email=x@example.org' }), 401);
    });
    t.test('403 for a user', async (t) => {
      assertError(
        t,
        await app.inject({ method: 'POST', url: '/users:remove?email=x@example.org', headers: await ctx.auth(listed[0]!) }),
        403,
      );
    });
    t.test('422 without any filter, and nobody is removed', async (t) => {
      const before = await ctx.db.prisma.user.count();
      const body = assertError(t, await app.inject({ method: 'POST', url: '/users:remove', headers: await ctx.auth(admin) }), 422);
      t.match(body.message, /sub, iss or email/);
      t.equal(await ctx.db.prisma.user.count(), before);
    });
  });
});
